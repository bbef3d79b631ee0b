"""The window store in Redis: window arithmetic (pure), the store and its Lua scripts,
rollups and the roller, sealing and the sealed-chunk codec, and the Redis connection and
small I/O helpers every other package uses.
"""
