"""Who may call what, and which websocket origins are let in."""

from __future__ import annotations

import pytest

from vitals_gateway.auth.access import allows, required
from vitals_gateway.live.subscriptions import origin_allowed

RULES = [
    ("GET", "/healthz", "public"),
    ("POST", "/auth/token", "public"),
    ("GET", "/openapi.json", "public"),
    ("GET", "/admin/system/metrics", "viewer"),
    ("GET", "/admin/system/metrics/historical", "viewer"),
    ("GET", "/admin/system/alerts", "viewer"),
    ("POST", "/admin/system/alerts/{alert_id}/acknowledge", "admin"),
    ("POST", "/admin/system/silences", "admin"),
    ("DELETE", "/admin/system/silences/{silence_id}", "admin"),
    ("GET", "/admin/system/audit", "admin"),
    ("GET", "/auth/api-tokens", "admin"),
    ("POST", "/auth/api-tokens", "admin"),
    ("GET", "/admin/system/notifications", "viewer"),
    ("GET", "/admin/system/notifications/dead", "admin"),
    ("POST", "/auth/refresh", "public"),  # they check the token or the session cookie themselves
    ("POST", "/auth/logout", "public"),
    ("POST", "/admin/system/annotations", "annotate"),
    ("GET", "/admin/system/annotations", "viewer"),
    ("GET", "/metrics", "scrape"),
    ("PUT", "/admin/system/anything-new", "admin"),
    ("PATCH", "/admin/system/metrics", "admin"),
]


@pytest.mark.parametrize(("method", "path", "access"), RULES)
def test_required_access(method: str, path: str, access: str) -> None:
    assert required(method, path) == access


ALLOWS = [
    # access, role, kind, allowed
    ("public", "", "", True),
    ("viewer", "viewer", "user", True),
    ("viewer", "admin", "user", True),
    ("admin", "viewer", "user", False),
    ("admin", "viewer", "api", False),
    ("admin", "admin", "api", True),
    ("annotate", "viewer", "user", False),
    ("annotate", "viewer", "api", True),
    ("annotate", "admin", "user", True),
    ("scrape", "viewer", "user", True),
    ("viewer", "nobody", "user", False),
]


@pytest.mark.parametrize(("access", "role", "kind", "allowed"), ALLOWS)
def test_allows(access: str, role: str, kind: str, allowed: bool) -> None:
    assert allows(access, role, kind) is allowed  # type: ignore[arg-type]


ORIGINS = [
    # Origin header, Host header, configured, allowed
    (None, "gw:8000", [], True),  # not a browser
    ("http://gw:8000", "gw:8000", [], True),  # same origin
    ("https://GW:8000/", "gw:8000", [], True),
    ("http://evil.example", "gw:8000", [], False),
    ("http://dash.example", "gw:8000", ["http://dash.example"], True),
    ("http://dash.example:81", "gw:8000", ["http://dash.example"], False),
    ("null", "gw:8000", [], False),
    ("http://gw:8000", None, [], False),
]


@pytest.mark.parametrize(("origin", "host", "configured", "allowed"), ORIGINS)
def test_origin_allowed(
    origin: str | None, host: str | None, configured: list[str], allowed: bool
) -> None:
    assert origin_allowed(origin, host, configured) is allowed
