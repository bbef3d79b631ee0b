"""Rate limits: a token bucket per API token (per replica), failed logins in Redis.

The decisions are pure functions of counts and the clock; `LoginLimiter` only keeps the
counts in Redis so that every replica sees the same failures.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict

from vitals_core import keys
from vitals_gateway.storage.redisconn import RedisClient


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


def login_verdict(failures: list[tuple[int, int, int]]) -> int | None:
    """(failed attempts, limit, seconds left in their window) per key -> seconds to wait."""
    waits = [max(ttl, 1) for count, limit, ttl in failures if count >= limit]
    return max(waits) if waits else None


def address_group(address: str) -> str:
    """The unit an address is counted in: itself, or its /64 for IPv6 (one host's share)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class LoginLimiter:
    """Failed logins per (account, address) and per address, within a window.

    Never per account alone: an attacker elsewhere must not lock the admin out of their
    own address. Memory is bounded: every key expires with its window, a name is cut to
    128 characters, and an address stops creating keys once it is over its own limit.
    """

    def __init__(
        self, redis: RedisClient, per_account: int, per_address: int, window: float
    ) -> None:
        self.redis = redis
        self.limits = (per_account, per_address)
        self.window = math.ceil(window)

    @staticmethod
    def keys_for(username: str, address: str) -> list[str]:
        group = address_group(address)
        return [
            keys.login_attempts(f"user:{group}:{username[:128]}"),
            keys.login_attempts(f"ip:{group}"),
        ]

    async def wait(self, username: str, address: str) -> int | None:
        """Seconds the caller must wait before trying again, or None."""
        pipe = self.redis.pipeline(transaction=False)
        for key in self.keys_for(username, address):
            pipe.get(key)
            pipe.ttl(key)
        answers = await pipe.execute()
        return login_verdict(
            [
                (int(answers[2 * i] or 0), limit, int(answers[2 * i + 1]))
                for i, limit in enumerate(self.limits)
            ]
        )

    async def failed(self, username: str, address: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for key in self.keys_for(username, address):
            pipe.incr(key)
            pipe.expire(key, self.window, nx=True)
        await pipe.execute()

    async def succeeded(self, username: str, address: str) -> None:
        # The address's own count stays: one valid account must not reset a spray.
        await self.redis.delete(self.keys_for(username, address)[0])
