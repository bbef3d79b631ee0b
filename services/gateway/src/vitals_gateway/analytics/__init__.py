"""The analytics endpoints (`docs/analytics.md`): the routes and their answers, and the
window store they read, over the gateway's Redis.
"""
