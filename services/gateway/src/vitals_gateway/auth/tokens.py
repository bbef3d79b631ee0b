"""Long-lived API tokens for scripts: created and revoked by an admin, stored hashed.

A token reads `vt_<id>_<secret>`; Redis keeps only the secret's SHA-256 (the secret is
random, so a fast hash is enough). Verified records are cached for a few seconds per
replica; a revocation reaches every replica at once over NATS (see `revocation.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from typing import Literal

import msgspec

from vitals_core import keys
from vitals_gateway.storage.redisconn import RedisClient
from vitals_gateway.storage.redisio import blobs

API_TOKEN_PREFIX = "vt_"  # noqa: S105 - a prefix, not a secret
CACHE_S = 5.0
CACHE_MAX = 10_000


class ApiToken(msgspec.Struct, kw_only=True):
    id: str
    name: str
    role: Literal["admin", "viewer"]
    created_by: str
    created_at: float
    expires_at: float | None = None
    secret_sha256: str = ""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token."""
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(API_TOKEN_PREFIX) :].partition("_")
    if not sep or not token_id or not secret:
        return None
    return token_id, secret


class ApiTokens:
    def __init__(self, redis: RedisClient) -> None:
        self.redis = redis
        self.cache: OrderedDict[str, tuple[float, ApiToken | None]] = OrderedDict()

    async def create(
        self, name: str, role: Literal["admin", "viewer"], by: str, expires_at: float | None
    ) -> tuple[str, ApiToken]:
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        record = ApiToken(
            id=token_id,
            name=name,
            role=role,
            created_by=by,
            created_at=time.time(),
            expires_at=expires_at,
            secret_sha256=_digest(secret),
        )
        await self.redis.hset(keys.api_tokens(), token_id, msgspec.json.encode(record))
        return f"{API_TOKEN_PREFIX}{token_id}_{secret}", record

    async def list(self) -> list[ApiToken]:
        raw = blobs(await self.redis.hvals(keys.api_tokens()))
        records = [msgspec.json.decode(r, type=ApiToken) for r in raw]
        return sorted(records, key=lambda r: r.created_at)

    async def revoke(self, token_id: str) -> ApiToken | None:
        raw = await self.redis.hget(keys.api_tokens(), token_id)
        if raw is None:
            return None
        await self.redis.hdel(keys.api_tokens(), token_id)
        self.forget(token_id)
        return msgspec.json.decode(raw, type=ApiToken)

    def forget(self, token_id: str) -> None:
        self.cache.pop(token_id, None)

    async def verify(self, token: str, now: float) -> ApiToken | None:
        parsed = parse(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        cached = self.cache.get(token_id)
        if cached is not None and now - cached[0] < CACHE_S:
            record = cached[1]
        else:
            raw = await self.redis.hget(keys.api_tokens(), token_id)
            record = None if raw is None else msgspec.json.decode(raw, type=ApiToken)
            self.cache[token_id] = (now, record)
            self.cache.move_to_end(token_id)
            while len(self.cache) > CACHE_MAX:
                self.cache.popitem(last=False)
        if record is None or not hmac.compare_digest(record.secret_sha256, _digest(secret)):
            return None
        if record.expires_at is not None and record.expires_at <= now:
            return None
        return record


def display(record: ApiToken) -> dict[str, object]:
    """A token's record without its hash."""
    out = msgspec.structs.asdict(record)
    out.pop("secret_sha256", None)
    return out
