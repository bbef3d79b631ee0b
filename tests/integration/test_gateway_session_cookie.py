"""The dashboard's session cookie over real NATS and Redis: set by a browser login, rotated
by /auth/refresh, refused without the CSRF header or from another origin, cleared and
revoked by logout. API clients (no CSRF header) keep the bearer-only contract.
"""

from __future__ import annotations

import asyncio
import time
from http.cookies import SimpleCookie

import httpx
import jwt

from tests.integration.test_gateway_harness import ADMIN_PASSWORD, gateway, login
from vitals_gateway.auth.sessions import COOKIE, CSRF_HEADER
from vitals_gateway.service import Gateway

__all__ = ["gateway"]

BROWSER = {CSRF_HEADER: "1"}


async def call(
    gw: Gateway,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    cookie: str | None = None,
    data: dict[str, str] | None = None,
    base: str = "http://gateway",
) -> httpx.Response:
    """One request from a fresh client: the cookie sent is exactly the one given."""
    sent = dict(headers or {})
    if cookie is not None:
        sent["Cookie"] = f"{COOKIE}={cookie}"
    transport = httpx.ASGITransport(app=gw.app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as c:
        return await c.post(path, headers=sent, data=data)


def set_cookie(r: httpx.Response) -> tuple[str, dict[str, str], str]:
    """The session cookie's value, its attributes, and the raw header."""
    [raw] = [h for h in r.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    morsel = SimpleCookie(raw)[COOKIE]
    attrs = {k: str(v) for k, v in morsel.items() if v}
    return morsel.value, attrs, raw


async def browser_login(gw: Gateway, base: str = "http://gateway") -> httpx.Response:
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    return await call(gw, "/auth/token", headers=BROWSER, data=form, base=base)


async def test_a_browser_login_sets_a_locked_down_cookie_and_keeps_the_body(
    gateway: Gateway,
) -> None:
    r = await browser_login(gateway)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"access_token", "token_type", "expires_in"}
    value, attrs, raw = set_cookie(r)
    assert len(value) > 40
    assert "HttpOnly" in raw
    assert attrs["samesite"].lower() == "strict"
    assert attrs["path"] == "/auth"
    assert 0 < int(attrs["max-age"]) <= gateway.state.settings.auth.session_max
    assert "Secure" not in raw  # plain http: a Secure cookie would never come back

    secure = await browser_login(gateway, base="https://gateway")
    assert "Secure" in set_cookie(secure)[2]

    # A script's login (no CSRF header) gets no cookie.
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    plain = await call(gateway, "/auth/token", data=form)
    assert plain.status_code == 200
    assert "set-cookie" not in plain.headers


async def test_the_cookie_alone_refreshes_and_is_rotated(gateway: Gateway) -> None:
    first = await browser_login(gateway)
    cookie, _, _ = set_cookie(first)
    auth_time = jwt.decode(first.json()["access_token"], options={"verify_signature": False})[
        "auth_time"
    ]

    # A reload: no access token in memory, only the cookie.
    r = await call(gateway, "/auth/refresh", headers=BROWSER, cookie=cookie)
    assert r.status_code == 200, r.text
    access = r.json()["access_token"]
    assert jwt.decode(access, options={"verify_signature": False})["auth_time"] == auth_time
    rotated, attrs, _ = set_cookie(r)
    assert rotated != cookie
    assert attrs["samesite"].lower() == "strict"
    transport = httpx.ASGITransport(app=gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        me = await c.get("/auth/me", headers={"Authorization": f"Bearer {access}"})
        assert me.json()["name"] == "admin"

    # Two tabs refreshing at once with the same cookie both get in (a short grace)...
    again = await call(gateway, "/auth/refresh", headers=BROWSER, cookie=cookie)
    assert again.status_code == 200
    # ...but once the grace is over, a rotated cookie is refused, and cleared.
    gateway.state.sessions.grace = 0.2
    stale = await call(gateway, "/auth/refresh", headers=BROWSER, cookie=rotated)
    assert stale.status_code == 200
    await asyncio.sleep(0.5)
    refused = await call(gateway, "/auth/refresh", headers=BROWSER, cookie=rotated)
    assert refused.status_code == 401
    assert set_cookie(refused)[1]["max-age"] == "0"
    unknown = await call(gateway, "/auth/refresh", headers=BROWSER, cookie="rt_00_nope")
    assert unknown.status_code == 401


async def test_a_refresh_by_cookie_needs_the_csrf_header_and_the_same_origin(
    gateway: Gateway,
) -> None:
    cookie, _, _ = set_cookie(await browser_login(gateway))
    # A cross-site form or image cannot add a header: refused.
    r = await call(gateway, "/auth/refresh", cookie=cookie)
    assert r.status_code == 403
    assert "X-Vitals-CSRF" in r.json()["detail"]
    r = await call(
        gateway, "/auth/refresh", headers=BROWSER | {"Origin": "http://evil.example"}, cookie=cookie
    )
    assert r.status_code == 403
    # The gateway's own origin is fine; the cookie was not spent by the refusals.
    r = await call(
        gateway, "/auth/refresh", headers=BROWSER | {"Origin": "http://gateway"}, cookie=cookie
    )
    assert r.status_code == 200, r.text
    # Nothing at all: 401 as before.
    assert (await call(gateway, "/auth/refresh")).status_code == 401


async def test_logout_revokes_the_cookie_and_the_token(gateway: Gateway) -> None:
    first = await browser_login(gateway)
    cookie, _, _ = set_cookie(first)
    access = first.json()["access_token"]
    r = await call(
        gateway,
        "/auth/logout",
        headers=BROWSER | {"Authorization": f"Bearer {access}"},
        cookie=cookie,
    )
    assert r.status_code == 204
    assert set_cookie(r)[1]["max-age"] == "0"
    assert (await call(gateway, "/auth/refresh", headers=BROWSER, cookie=cookie)).status_code == 401
    transport = httpx.ASGITransport(app=gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        me = await c.get("/auth/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 401

    # Signing out with only the cookie (the access token already expired) works too.
    cookie, _, _ = set_cookie(await browser_login(gateway))
    r = await call(gateway, "/auth/logout", headers=BROWSER, cookie=cookie)
    assert r.status_code == 204
    assert (await call(gateway, "/auth/refresh", headers=BROWSER, cookie=cookie)).status_code == 401
    # ...but not without the CSRF header (a cross-site sign-out).
    cookie, _, _ = set_cookie(await browser_login(gateway))
    assert (await call(gateway, "/auth/logout", cookie=cookie)).status_code == 403
    assert (await call(gateway, "/auth/refresh", headers=BROWSER, cookie=cookie)).status_code == 200


async def test_bearer_refresh_and_logout_keep_working_for_scripts(gateway: Gateway) -> None:
    access = await login(gateway)
    r = await call(gateway, "/auth/refresh", headers={"Authorization": f"Bearer {access}"})
    assert r.status_code == 200
    assert "set-cookie" not in r.headers
    renewed = r.json()["access_token"]
    old = await call(gateway, "/auth/refresh", headers={"Authorization": f"Bearer {access}"})
    assert old.status_code == 401  # revoked by the refresh
    r = await call(gateway, "/auth/logout", headers={"Authorization": f"Bearer {renewed}"})
    assert r.status_code == 204


async def test_sessions_end_with_session_max(gateway: Gateway) -> None:
    cookie, _, _ = set_cookie(await browser_login(gateway))
    record = await gateway.state.sessions.peek(cookie)
    assert record is not None
    assert record.session_start <= time.time()
    assert await gateway.state.redis.ttl(gateway.state.sessions.key(record.id)) <= 86400
