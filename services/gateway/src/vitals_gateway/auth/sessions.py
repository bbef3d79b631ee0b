"""Browser sessions that survive a reload: a refresh token in an httpOnly cookie.

A browser login (`POST /auth/token` with the `X-Vitals-CSRF` header) also gets a refresh
token `rt_<id>_<secret>` in a cookie that scripts cannot read (HttpOnly), that no other
site's page sends (SameSite=Strict), that travels only to `/auth` (Path) and only over
https when the page is (Secure). `POST /auth/refresh` with the cookie and the header swaps
it for a new one and a fresh access token; the access token itself stays in memory only.
Redis keeps only a SHA-256 of the secret, until the session's end (`auth.session_max`
after the login). A rotated token still works for `grace` seconds, so that two tabs that
refresh at once are not signed out; after that it is unknown. Each user keeps at most
`MAX_PER_USER` live refresh tokens; the oldest go first.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

from vitals_core import keys
from vitals_gateway.live.subscriptions import origin_allowed
from vitals_gateway.storage.redisconn import RedisClient
from vitals_gateway.storage.redisio import as_text

COOKIE = "vitals_refresh"
COOKIE_PATH = "/auth"
CSRF_HEADER = "X-Vitals-CSRF"
PREFIX = "rt_"
ROTATION_GRACE_S = 30.0
MAX_PER_USER = 50


class RefreshRecord(msgspec.Struct, kw_only=True):
    id: str
    name: str
    role: Literal["admin", "viewer"]
    session_start: float
    secret_sha256: str
    rotated_at: float | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed refresh token."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not token_id.isalnum() or not secret:
        return None
    return token_id, secret


def usable(
    record: RefreshRecord, secret: str, now: float, grace: float, session_max: float
) -> bool:
    """Whether `secret` opens `record` at `now`: right secret, session not over, not rotated
    longer than `grace` ago."""
    if not hmac.compare_digest(record.secret_sha256, _digest(secret)):
        return False
    if now >= record.session_start + session_max:
        return False
    return record.rotated_at is None or now - record.rotated_at <= grace


def cross_site(headers: Mapping[str, str], host: str | None, allowed: Iterable[str]) -> str | None:
    """Why a cookie-carrying request may come from another site, or None.

    The custom header cannot be added by a cross-site form, link or image, and a cross-site
    script cannot send it without a CORS preflight the gateway never grants with cookies.
    """
    if not headers.get(CSRF_HEADER.lower()):
        return f"the session cookie is accepted only with the {CSRF_HEADER} header"
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return "the session cookie is not accepted from another site"
    if not origin_allowed(headers.get("origin"), host, allowed):
        return "the session cookie is not accepted from another origin"
    return None


class Sessions:
    def __init__(
        self, redis: RedisClient, session_max: float, grace: float = ROTATION_GRACE_S
    ) -> None:
        self.redis = redis
        self.session_max = session_max
        self.grace = grace

    @staticmethod
    def key(token_id: str) -> str:
        return keys.refresh_token(token_id)

    def seconds_left(self, record: RefreshRecord, now: float) -> int:
        return max(0, math.floor(record.session_start + self.session_max - now))

    async def create(
        self, name: str, role: Literal["admin", "viewer"], session_start: float, now: float
    ) -> tuple[str, RefreshRecord]:
        token_id = secrets.token_hex(12)
        secret = secrets.token_urlsafe(32)
        record = RefreshRecord(
            id=token_id,
            name=name,
            role=role,
            session_start=session_start,
            secret_sha256=_digest(secret),
        )
        ttl = max(1, self.seconds_left(record, now))
        mine = keys.refresh_tokens_of(name)
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.key(token_id), msgspec.json.encode(record), ex=ttl)
        pipe.zadd(mine, {token_id: now})
        pipe.zremrangebyscore(mine, "-inf", now - self.session_max)
        pipe.expire(mine, math.ceil(self.session_max))
        pipe.zcard(mine)
        count = (await pipe.execute())[-1]
        if count > MAX_PER_USER:
            ids = await self.redis.zrange(mine, 0, count - MAX_PER_USER - 1)
            oldest = [as_text(i) for i in ids if isinstance(i, (bytes, str))]
            pipe = self.redis.pipeline(transaction=False)
            pipe.zrem(mine, *oldest)
            pipe.delete(*[self.key(i) for i in oldest])
            await pipe.execute()
        return f"{PREFIX}{token_id}_{secret}", record

    async def peek(self, token: str) -> RefreshRecord | None:
        """The record a token opens, unchanged (the grace and the session end applied)."""
        found = await self._find(token)
        return found[0] if found else None

    async def rotate(self, token: str, now: float) -> tuple[str, RefreshRecord] | None:
        """A new token for the same session; the one given lives on for `grace` seconds."""
        found = await self._find(token, now)
        if found is None:
            return None
        record, _ = found
        if record.rotated_at is None:
            left_ms = max(1, math.ceil(min(self.grace, self.seconds_left(record, now)) * 1000))
            spent = msgspec.structs.replace(record, rotated_at=now)
            await self.redis.set(self.key(record.id), msgspec.json.encode(spent), px=left_ms)
            await self.redis.zrem(keys.refresh_tokens_of(record.name), record.id)
        return await self.create(record.name, record.role, record.session_start, now)

    async def revoke(self, token: str) -> RefreshRecord | None:
        found = await self._find(token, grace=math.inf)
        if found is None:
            return None
        record, _ = found
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self.key(record.id))
        pipe.zrem(keys.refresh_tokens_of(record.name), record.id)
        await pipe.execute()
        return record

    async def _find(
        self, token: str, now: float | None = None, grace: float | None = None
    ) -> tuple[RefreshRecord, str] | None:
        parsed = parse(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        raw = await self.redis.get(self.key(token_id))
        if raw is None:
            return None
        try:
            record = msgspec.json.decode(raw, type=RefreshRecord)
        except msgspec.DecodeError:
            return None
        when = time.time() if now is None else now
        allowed = self.grace if grace is None else grace
        if not usable(record, secret, when, allowed, self.session_max):
            return None
        return record, secret
