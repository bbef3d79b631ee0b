"""What one run of a check found."""

from __future__ import annotations

from typing import NamedTuple


class Outcome(NamedTuple):
    ok: bool
    reason: str = ""
    status_code: int | None = None


def describe(exc: BaseException) -> str:
    """A short reason for a failure, without a traceback."""
    # ssl.SSLCertVerificationError, known by its attribute: an agent without TLS in its
    # configuration does not load the ssl module at all (vitals_agent/tls.py).
    verify_message = getattr(exc, "verify_message", None)
    if isinstance(exc, OSError) and verify_message is not None:
        return f"TLS certificate not trusted: {verify_message}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror[0].lower()}{exc.strerror[1:]}{where}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
