"""Users, passwords and tokens.

Passwords are argon2 hashes; tokens are HS256 JWTs with `exp`, `iat`, `jti` and `aud`, the
algorithm pinned on decode.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from vitals_core import keys
from vitals_core.settings import AuthSettings
from vitals_gateway.redisio import as_text

log = logging.getLogger("vitals.gateway.auth")

ALGORITHM = "HS256"
Role = Literal["admin", "viewer"]

_hasher = PasswordHasher()


class AuthError(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    jti: str
    expires_at: float


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Authenticator:
    def __init__(self, settings: AuthSettings, signing_key: str, redis: Redis) -> None:
        if len(signing_key.encode()) < 32:
            raise ValueError("the JWT signing key must be at least 32 bytes")
        self.settings = settings
        self.key = signing_key
        self.redis = redis

    async def authenticate(self, username: str, password: str) -> Role | None:
        for user in self.settings.users:
            if user.name == username:
                return user.role if verify_password(user.password_hash, password) else None
        if username == "admin":
            stored = await self.redis.get(keys.admin_password_hash())
            if stored and verify_password(as_text(stored), password):
                return "admin"
        return None

    def issue(self, name: str, role: Role, now: float | None = None) -> tuple[str, float]:
        now = time.time() if now is None else now
        expires = now + self.settings.token_ttl
        claims = {
            "sub": name,
            "role": role,
            "aud": self.settings.audience,
            "iat": int(now),
            "exp": int(expires),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM), self.settings.token_ttl

    def verify(self, token: str) -> Principal:
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
        return Principal(claims["sub"], role, claims["jti"], float(claims["exp"]))


async def signing_key(settings: AuthSettings, redis: Redis) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    await redis.set(keys.jwt_signing_key(), secrets.token_urlsafe(48), nx=True)
    stored = await redis.get(keys.jwt_signing_key())
    assert stored is not None
    return as_text(stored)


async def bootstrap_admin(redis: Redis, configured_password: str) -> str | None:
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
