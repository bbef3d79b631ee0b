"""Analytics over stored series: health score, trends, capacity, anomalies, advice, components.

Every function here is pure: points and `now` in, msgspec Structs out. No asyncio, NATS or
Redis; the gateway fetches the points and calls these (see `answers.py` for the endpoints).
A series is a list of `(ts, value)` pairs in time order, named as in `vitals_core.series`.
"""
