"""The audit log: every admin action and every failed login, bounded, in Redis.

Entries say who, what, when, from where and whether it worked. They are written from
fields the gateway composes, never from a request's body or headers, so no token or
password can reach them.
"""

from __future__ import annotations

import logging
import time

import msgspec

from vitals_core import keys
from vitals_gateway.storage.redisconn import RedisClient
from vitals_gateway.storage.redisio import blobs

log = logging.getLogger("vitals.gateway.audit")


class AuditEntry(msgspec.Struct, kw_only=True):
    ts: float
    who: str
    action: str
    ok: bool = True
    role: str = ""
    target: str = ""
    address: str = ""
    detail: str = ""


class Audit:
    def __init__(self, redis: RedisClient, max_entries: int) -> None:
        self.redis = redis
        self.max_entries = max_entries

    async def record(
        self,
        who: str,
        action: str,
        *,
        ok: bool = True,
        role: str = "",
        target: str = "",
        address: str = "",
        detail: str = "",
    ) -> None:
        entry = AuditEntry(
            ts=time.time(),
            who=who[:128],
            action=action,
            ok=ok,
            role=role,
            target=target[:256],
            address=address,
            detail=detail[:512],
        )
        pipe = self.redis.pipeline(transaction=False)
        pipe.lpush(keys.AUDIT, msgspec.json.encode(entry))
        pipe.ltrim(keys.AUDIT, 0, self.max_entries - 1)
        try:
            await pipe.execute()
        except Exception as exc:
            # The action itself went through; say so rather than fail it.
            log.error("could not write the audit entry %s by %s: %s", action, who, exc)

    async def entries(
        self, limit: int, since: float = 0.0, who: str = "", action: str = ""
    ) -> list[AuditEntry]:
        """Newest first."""
        raw = blobs(await self.redis.lrange(keys.AUDIT, 0, self.max_entries - 1))
        out = []
        for item in raw:
            entry = msgspec.json.decode(item, type=AuditEntry)
            if entry.ts < since:
                break
            if (who and entry.who != who) or (action and not entry.action.startswith(action)):
                continue
            out.append(entry)
            if len(out) >= limit:
                break
        return out
