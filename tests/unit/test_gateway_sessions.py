"""The session cookie's pure checks: which refresh token opens, which request is cross-site."""

from __future__ import annotations

import msgspec
import pytest

from vitals_gateway.auth.sessions import RefreshRecord, _digest, cross_site, parse, usable

RECORD = RefreshRecord(
    id="ab12", name="admin", role="admin", session_start=1000.0, secret_sha256=_digest("s3")
)


@pytest.mark.parametrize(
    ("secret", "now", "rotated_at", "ok"),
    [
        ("s3", 1001.0, None, True),
        ("wrong", 1001.0, None, False),
        ("s3", 1000.0 + 86400, None, False),  # the session is over
        ("s3", 1050.0, 1040.0, True),  # rotated 10 s ago: inside the grace
        ("s3", 1050.0, 1000.0, False),  # rotated 50 s ago
    ],
)
def test_usable(secret: str, now: float, rotated_at: float | None, ok: bool) -> None:
    record = msgspec.structs.replace(RECORD, rotated_at=rotated_at)
    assert usable(record, secret, now, grace=30.0, session_max=86400.0) is ok


@pytest.mark.parametrize(
    ("token", "parsed"),
    [
        ("rt_ab12_secret", ("ab12", "secret")),
        ("rt_ab12_sec_ret", ("ab12", "sec_ret")),
        ("vt_ab12_secret", None),
        ("rt__secret", None),
        ("rt_ab:12_secret", None),
        ("rt_ab12_", None),
        ("rt_" + "a" * 300 + "_x", None),
    ],
)
def test_parse(token: str, parsed: tuple[str, str] | None) -> None:
    assert parse(token) == parsed


@pytest.mark.parametrize(
    ("headers", "allowed", "refused"),
    [
        ({"x-vitals-csrf": "1"}, [], False),
        ({}, [], True),
        ({"x-vitals-csrf": "1", "origin": "http://gw:8000"}, [], False),
        ({"x-vitals-csrf": "1", "origin": "http://evil"}, [], True),
        ({"x-vitals-csrf": "1", "origin": "http://dev:5173"}, ["http://dev:5173"], False),
        ({"x-vitals-csrf": "1", "sec-fetch-site": "cross-site"}, [], True),
        ({"x-vitals-csrf": "1", "sec-fetch-site": "same-origin"}, [], False),
    ],
)
def test_cross_site(headers: dict[str, str], allowed: list[str], refused: bool) -> None:
    assert (cross_site(headers, "gw:8000", allowed) is not None) is refused
