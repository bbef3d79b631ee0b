"""Rate limits: a token bucket per API token (per replica), failed logins in Redis.

The decisions are pure functions of counts and the clock; `LoginLimiter` only keeps the
counts in Redis so that every replica sees the same failures.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from vitals_core import keys
from vitals_gateway.redisconn import RedisClient


class TokenBucket:
    """`rate` requests per second sustained, `burst` at once; bounded number of keys."""

    def __init__(self, rate: float, burst: int, max_keys: int = 50_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self.state: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> tokens, at

    def take(self, key: str, now: float) -> float:
        """0 when allowed (one token taken), else the seconds until one is available."""
        tokens, at = self.state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self.state[key] = (tokens - 1.0, now)
            self.state.move_to_end(key)
            while len(self.state) > self.max_keys:
                self.state.popitem(last=False)
            return 0.0
        self.state[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


def login_verdict(failures: list[tuple[int, int]], limit: int) -> int | None:
    """(failed attempts, seconds left in their window) per key -> seconds to wait, or None."""
    waits = [max(ttl, 1) for count, ttl in failures if count >= limit]
    return max(waits) if waits else None


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class LoginLimiter:
    """Failed logins per username and per client address, within a sliding window."""

    def __init__(self, redis: RedisClient, attempts: int, window: float) -> None:
        self.redis = redis
        self.attempts = attempts
        self.window = math.ceil(window)

    @staticmethod
    def keys_for(username: str, address: str) -> list[str]:
        return [keys.login_attempts(f"user:{username[:128]}"), keys.login_attempts(f"ip:{address}")]

    async def wait(self, username: str, address: str) -> int | None:
        """Seconds the caller must wait before trying again, or None."""
        pipe = self.redis.pipeline(transaction=False)
        for key in self.keys_for(username, address):
            pipe.get(key)
            pipe.ttl(key)
        answers = await pipe.execute()
        failures = [(int(answers[i] or 0), int(answers[i + 1])) for i in range(0, len(answers), 2)]
        return login_verdict(failures, self.attempts)

    async def failed(self, username: str, address: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for key in self.keys_for(username, address):
            pipe.incr(key)
            pipe.expire(key, self.window, nx=True)
        await pipe.execute()

    async def succeeded(self, username: str) -> None:
        await self.redis.delete(self.keys_for(username, "")[0])
