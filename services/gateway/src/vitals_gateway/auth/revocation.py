"""Revoked tokens: a `jti` denylist in Redis until the token would have expired anyway.

Every replica also hears each revocation at once over core NATS (`GATEWAY_REVOKED`) to
refuse the token without asking Redis and to close the websockets opened with it. A token
found not revoked is not asked about again for a few seconds.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from vitals_core import keys, subjects
from vitals_gateway.storage.redisconn import RedisClient

log = logging.getLogger("vitals.gateway.revocation")

CHECKED_S = 5.0
MAX_ENTRIES = 100_000
API_PREFIX = "api:"

Listener = Callable[[str], None]


class Revocations:
    def __init__(self, redis: RedisClient, nc: Client) -> None:
        self.redis = redis
        self.nc = nc
        self.revoked: OrderedDict[str, float] = OrderedDict()  # jti -> until
        self.checked: OrderedDict[str, float] = OrderedDict()  # jti -> when found valid
        self.listeners: list[Listener] = []
        self.sub: Subscription | None = None

    def on_revoke(self, listener: Listener) -> None:
        """`listener(jti)` runs on every replica when a token is revoked (API: `api:<id>`)."""
        self.listeners.append(listener)

    async def start(self) -> None:
        self.sub = await self.nc.subscribe(subjects.GATEWAY_REVOKED, cb=self._heard)

    async def stop(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()

    async def revoke(self, jti: str, until: float) -> None:
        if math.isfinite(until) and until > time.time():
            await self.redis.set(keys.revoked_token(jti), b"1", exat=int(until) + 1)
        self._remember(jti, until)
        await self.nc.publish(subjects.GATEWAY_REVOKED, jti.encode())
        await self.nc.flush()

    async def revoke_api_token(self, token_id: str) -> None:
        """Announce that an API token is gone (its record is already deleted)."""
        await self.nc.publish(subjects.GATEWAY_REVOKED, f"{API_PREFIX}{token_id}".encode())
        await self.nc.flush()

    async def is_revoked(self, jti: str, now: float) -> bool:
        until = self.revoked.get(jti)
        if until is not None:
            return until > now
        seen = self.checked.get(jti)
        if seen is not None and now - seen < CHECKED_S:
            return False
        if await self.redis.exists(keys.revoked_token(jti)):
            self._remember(jti, math.inf)
            return True
        self.checked[jti] = now
        self.checked.move_to_end(jti)
        while len(self.checked) > MAX_ENTRIES:
            self.checked.popitem(last=False)
        return False

    def _remember(self, jti: str, until: float) -> None:
        self.checked.pop(jti, None)
        self.revoked[jti] = until
        self.revoked.move_to_end(jti)
        while len(self.revoked) > MAX_ENTRIES:
            # The oldest fall back to the Redis denylist.
            self.revoked.popitem(last=False)

    async def _heard(self, msg: Msg) -> None:
        jti = msg.data.decode(errors="replace")
        if not jti.startswith(API_PREFIX):
            self._remember(jti, math.inf)
        for listener in self.listeners:
            try:
                listener(jti)
            except Exception:
                log.exception("revocation listener failed")
