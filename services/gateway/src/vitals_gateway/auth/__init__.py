"""Who may do what: users and passwords, signed and API tokens, browser sessions,
revocation, login and token rate limits, the per-route access rule, the audit log, and
keeping tokens out of the log.
"""
