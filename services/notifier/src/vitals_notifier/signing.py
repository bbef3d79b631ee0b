"""Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The key bytes of a `whsec_` secret (checked when the settings load)."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,…` per secret, space-separated (rotation)."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secrets:
        mac = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(mac).decode())
    return " ".join(parts)


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    out = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secrets:
        out["webhook-signature"] = sign(secrets, msg_id, timestamp, body)
    return out
