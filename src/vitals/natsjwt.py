"""NATS decentralized auth: nkeys and the JWTs an operator, account and user carry.

The encoding follows nats-io/jwt v2: a header `{"typ":"JWT","alg":"ed25519-nkey"}`, the
claims, both base64url without padding, and an ed25519 signature by the issuer's nkey over
`header.claims`. The `jti` is the base32 SHA-512/256 of the claims with an empty `jti`.
Pure functions: the clock and the keys are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

import nacl.exceptions
import nacl.signing
import nkeys  # type: ignore[import-untyped]

HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}
UNLIMITED = -1

PREFIXES = {
    "operator": nkeys.PREFIX_BYTE_OPERATOR,
    "account": nkeys.PREFIX_BYTE_ACCOUNT,
    "user": nkeys.PREFIX_BYTE_USER,
}


class Key:
    """An nkey pair held by its seed (`SO…`, `SA…`, `SU…`)."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self._pair = nkeys.from_seed(bytearray(seed.encode()))
        self.public: str = self._pair.public_key.decode()

    @classmethod
    def create(cls, role: str) -> Key:
        return cls(nkeys.encode_seed(os.urandom(32), PREFIXES[role]).decode())

    def sign(self, data: bytes) -> bytes:
        signature: bytes = self._pair.sign(data)
        return signature


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(claims: dict[str, Any], issuer: Key) -> str:
    """Sign `claims` (with `iss` and `jti` filled in) as `issuer`."""
    body = dict(claims, iss=issuer.public, jti="")
    digest = hashlib.new("sha512_256", json.dumps(body, sort_keys=True).encode()).digest()
    body["jti"] = base64.b32encode(digest).decode().rstrip("=")
    head = _b64(json.dumps(HEADER, separators=(",", ":")).encode())
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    signature = issuer.sign(f"{head}.{payload}".encode())
    return f"{head}.{payload}.{_b64(signature)}"


def _verify(public: str, data: bytes, signature: bytes) -> None:
    raw = base64.b32decode(public + "=" * (-len(public) % 8))
    if len(raw) != 35 or nkeys.crc16_checksum(raw[:-2]) != raw[-2:]:
        raise ValueError(f"{public!r} is not an nkey public key")
    nacl.signing.VerifyKey(raw[1:33]).verify(data, signature)


def decode(token: str) -> dict[str, Any]:
    """The claims of a JWT, its signature checked against its `iss` key."""
    try:
        head, payload, signature = token.split(".")
        claims: dict[str, Any] = json.loads(_unb64(payload))
        _verify(claims["iss"], f"{head}.{payload}".encode(), _unb64(signature))
    except (ValueError, KeyError, nacl.exceptions.BadSignatureError) as exc:
        raise ValueError(f"not a valid NATS JWT: {exc}") from exc
    return claims


def operator_claims(name: str, operator: Key, system_account: str, now: int) -> dict[str, Any]:
    return {
        "iat": now,
        "name": name,
        "sub": operator.public,
        "nats": {"type": "operator", "version": 2, "system_account": system_account},
    }


def account_claims(
    name: str,
    account: Key | str,
    now: int,
    *,
    jetstream: bool,
    revocations: dict[str, int] | None = None,
) -> dict[str, Any]:
    public = account if isinstance(account, str) else account.public
    limits: dict[str, Any] = {
        "subs": UNLIMITED,
        "data": UNLIMITED,
        "payload": UNLIMITED,
        "imports": UNLIMITED,
        "exports": UNLIMITED,
        "wildcards": True,
        "conn": UNLIMITED,
        "leaf": UNLIMITED,
    }
    if jetstream:
        # JetStream is off for an account unless it has storage limits.
        limits |= {"mem_storage": UNLIMITED, "disk_storage": UNLIMITED, "streams": UNLIMITED}
        limits |= {"consumer": UNLIMITED, "max_ack_pending": UNLIMITED}
    nats: dict[str, Any] = {"type": "account", "version": 2, "limits": limits}
    if revocations:
        nats["revocations"] = dict(sorted(revocations.items()))
    return {"iat": now, "name": name, "sub": public, "nats": nats}


def user_claims(
    name: str,
    user: Key,
    now: int,
    *,
    publish: list[str] | None = None,
    subscribe: list[str] | None = None,
    expires: int = 0,
) -> dict[str, Any]:
    """A user; `None` permissions leave that direction unrestricted."""
    nats: dict[str, Any] = {
        "type": "user",
        "version": 2,
        "subs": UNLIMITED,
        "data": UNLIMITED,
        "payload": UNLIMITED,
    }
    if publish is not None:
        nats["pub"] = {"allow": publish}
    if subscribe is not None:
        nats["sub"] = {"allow": subscribe}
    claims: dict[str, Any] = {"iat": now, "name": name, "sub": user.public, "nats": nats}
    if expires:
        claims["exp"] = expires
    return claims


def creds(user_jwt: str, user: Key) -> str:
    """A `.creds` file, as `nsc` writes them."""
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{user.seed}\n"
        "------END USER NKEY SEED------\n\n"
        "*************************************************************\n"
    )
