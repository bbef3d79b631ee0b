"""Who may call what: one rule for every route and method. Pure.

`viewer` reads, `admin` does everything. A few reads are admin-only (they show who did what
or hold tokens), logout and refresh check the bearer token or the session cookie themselves,
annotations may also be posted by any API token (deploy scripts), and `/metrics` also takes
the scrape token.
"""

from __future__ import annotations

from typing import Literal

Access = Literal["public", "viewer", "admin", "annotate", "scrape"]

PUBLIC = frozenset({"/healthz", "/auth/token", "/openapi.json", "/docs", "/docs/oauth2-redirect"})
ADMIN_READS = frozenset(
    {"/admin/system/audit", "/auth/api-tokens", "/admin/system/notifications/dead"}
)
SPECIAL: dict[tuple[str, str], Access] = {
    # They check the bearer token or the session cookie themselves (routes/auth.py).
    ("POST", "/auth/refresh"): "public",
    ("POST", "/auth/logout"): "public",
    ("POST", "/admin/system/annotations"): "annotate",
    ("GET", "/metrics"): "scrape",
}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def required(method: str, path: str) -> Access:
    """What a caller needs for `method` on the route template `path`."""
    if path in PUBLIC:
        return "public"
    special = SPECIAL.get((method, path))
    if special is not None:
        return special
    if method in READ_METHODS:
        return "admin" if path in ADMIN_READS else "viewer"
    return "admin"


def allows(access: Access, role: str, kind: str) -> bool:
    """Whether a principal of `role` ("admin"/"viewer") and `kind` ("user"/"api") passes."""
    if access == "public":
        return True
    if access in ("viewer", "scrape"):
        return role in ("viewer", "admin")
    if access == "annotate":
        return role == "admin" or kind == "api"
    return role == "admin"
