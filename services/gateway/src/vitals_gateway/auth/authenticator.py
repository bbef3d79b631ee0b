"""Users, passwords and tokens.

Passwords are argon2 hashes (users from the config, `admin` from VITALS_ADMIN_PASSWORD or
generated). Access tokens are HS256 JWTs with `exp`, `iat`, `jti`, `aud` and `auth_time`
(the login that started the session; refresh works until `session_max` after it), the
algorithm pinned on decode. Scripts use long-lived API tokens (`tokens.py`). Revoked ids
are refused (`revocation.py`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vitals_core import keys
from vitals_core.settings import AuthSettings
from vitals_gateway.auth.revocation import Revocations
from vitals_gateway.auth.tokens import API_TOKEN_PREFIX, ApiTokens
from vitals_gateway.storage.redisconn import RedisClient
from vitals_gateway.storage.redisio import as_text

log = logging.getLogger("vitals.gateway.auth")

ALGORITHM = "HS256"
MIN_KEY_BYTES = 32
Role = Literal["admin", "viewer"]

_hasher = PasswordHasher()
# Compared against when the user does not exist, so both cases cost the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AuthError(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    jti: str  # the JWT's id, or the API token's id
    expires_at: float
    kind: Literal["user", "api"] = "user"
    session_start: float = 0.0


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Authenticator:
    def __init__(
        self,
        settings: AuthSettings,
        signing_key: str,
        redis: RedisClient,
        revocations: Revocations,
        tokens: ApiTokens,
    ) -> None:
        if len(signing_key.encode()) < MIN_KEY_BYTES:
            raise ValueError(f"the JWT signing key must be at least {MIN_KEY_BYTES} bytes")
        self.settings = settings
        self.key = signing_key
        self.redis = redis
        self.revocations = revocations
        self.tokens = tokens

    async def check_password(self, username: str, password: str) -> Role | None:
        """The user's role when the password is right; argon2 runs off the event loop."""
        for user in self.settings.users:
            if user.name == username:
                ok = await asyncio.to_thread(verify_password, user.password_hash, password)
                return user.role if ok else None
        stored = await self.redis.get(keys.admin_password_hash()) if username == "admin" else None
        hashed = as_text(stored) if stored else _DUMMY_HASH
        ok = await asyncio.to_thread(verify_password, hashed, password)
        return "admin" if ok and stored else None

    async def role_of(self, username: str) -> Role | None:
        """The user's role now, or None once they no longer exist (a refresh then fails)."""
        for user in self.settings.users:
            if user.name == username:
                return user.role
        if username == "admin" and await self.redis.exists(keys.admin_password_hash()):
            return "admin"
        return None

    def issue(
        self, name: str, role: Role, now: float | None = None, session_start: float | None = None
    ) -> tuple[str, float]:
        now = time.time() if now is None else now
        start = now if session_start is None else session_start
        # A refreshed token never outlives its session.
        expires = min(now + self.settings.token_ttl, start + self.settings.session_max)
        claims = {
            "sub": name,
            "role": role,
            "aud": self.settings.audience,
            "iat": int(now),
            "exp": int(expires),
            "jti": uuid.uuid4().hex,
            "auth_time": int(start),
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM), float(int(expires) - int(now))

    def decode(self, token: str) -> Principal:
        """Check a JWT's signature, algorithm, audience and times; no revocation check."""
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                audience=self.settings.audience,
                options={"require": ["exp", "iat", "jti", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        role = claims.get("role")
        if role not in ("admin", "viewer"):
            raise AuthError("invalid token: unknown role")
        return Principal(
            str(claims["sub"]),
            role,
            str(claims["jti"]),
            float(claims["exp"]),
            "user",
            float(claims.get("auth_time", claims["iat"])),
        )

    async def verify(self, token: str, now: float | None = None) -> Principal:
        now = time.time() if now is None else now
        if token.startswith(API_TOKEN_PREFIX):
            record = await self.tokens.verify(token, now)
            if record is None:
                raise AuthError("invalid token: unknown, revoked or expired API token")
            return Principal(
                record.name,
                record.role,
                record.id,
                record.expires_at or math.inf,
                "api",
                record.created_at,
            )
        principal = self.decode(token)
        if await self.revocations.is_revoked(principal.jti, now):
            raise AuthError("invalid token: revoked")
        return principal


async def signing_key(settings: AuthSettings, redis: RedisClient) -> str:
    """The configured key, or one generated once and shared by every replica through Redis."""
    if settings.jwt_secret:
        return settings.jwt_secret
    await redis.set(keys.jwt_signing_key(), secrets.token_urlsafe(48), nx=True)
    stored = await redis.get(keys.jwt_signing_key())
    if stored is None:
        raise RuntimeError("the generated JWT signing key vanished from Redis")
    return as_text(stored)


async def bootstrap_admin(redis: RedisClient, configured_password: str) -> str | None:
    """Make sure the `admin` user has a password; return it only when it was just generated."""
    key = keys.admin_password_hash()
    if configured_password:
        stored = await redis.get(key)
        if stored is None or not verify_password(as_text(stored), configured_password):
            await redis.set(key, hash_password(configured_password))
        return None
    generated = secrets.token_urlsafe(18)
    if await redis.set(key, hash_password(generated), nx=True):
        return generated
    return None
