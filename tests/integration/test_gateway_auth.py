"""Auth over real NATS and Redis: bad tokens, roles on every route, limits, audit, tokens."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from redis.asyncio import Redis

from tests.integration.test_gateway_harness import (
    ADMIN_PASSWORD,
    SECRET,
    VIEWER_PASSWORD,
    client,
    gateway,
    gateway_settings,
    login,
    running,
)
from vitals_core import keys
from vitals_gateway.auth import access
from vitals_gateway.deps import authorize
from vitals_gateway.service import Gateway

__all__ = ["gateway"]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "admin",
        "role": "admin",
        "aud": "vitals",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "auth_time": now,
    }
    return {**base, **overrides}


async def test_bad_tokens_get_401(gateway: Gateway) -> None:
    good = await login(gateway)
    header, payload, signature = good.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "==")) | {"role": "admin", "sub": "x"}
    bad = {
        "no token": None,
        "garbage": "not-a-token",
        "expired": jwt.encode(claims(exp=int(time.time()) - 10), SECRET, algorithm="HS256"),
        "tampered": f"{header}.{_b64(forged)}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims())}.",
        "wrong audience": jwt.encode(claims(aud="other"), SECRET, algorithm="HS256"),
        "wrong key": jwt.encode(claims(), "z" * 48, algorithm="HS256"),
        "HS512": jwt.encode(claims(), SECRET * 2, algorithm="HS512"),
        "no jti": jwt.encode(
            {k: v for k, v in claims().items() if k != "jti"}, SECRET, algorithm="HS256"
        ),
        "unknown API token": "vt_0123456789abcdef_nope",
    }
    async with client(gateway) as c:
        for name, token in bad.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = await c.get("/admin/system/hosts", headers=headers)
            assert r.status_code == 401, name
            assert r.headers["www-authenticate"] == "Bearer", name
            assert r.json() == {"detail": "missing or invalid bearer token"}, name
        ok = await c.get("/admin/system/hosts", headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 200

        # Logout revokes: the same token is refused on every replica from now on.
        r = await c.post("/auth/logout", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 204
        r = await c.get("/admin/system/hosts", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 401
    assert await gateway.state.redis.exists(
        keys.revoked_token(jwt.decode(good, options={"verify_signature": False})["jti"])
    )


def _uses_authorize(dependant: Dependant) -> bool:
    return any(d.call is authorize or _uses_authorize(d) for d in dependant.dependencies)


async def test_every_route_is_guarded_and_a_viewer_cannot_do_admin_things(
    gateway: Gateway,
) -> None:
    viewer = await login(gateway, "viewer", VIEWER_PASSWORD)
    admin_only: list[tuple[str, str]] = []
    for context in iter_route_contexts(gateway.app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.path == "/{path:path}":
            continue
        # `authorize` reads the route's own path: routers are included without a prefix.
        assert context.path == route.path
        for method in sorted(route.methods or ()):
            need = access.required(method, route.path)
            if need != "public":
                assert _uses_authorize(route.dependant), f"{method} {route.path} is unguarded"
            if need in ("admin", "annotate"):
                admin_only.append((method, route.path.replace("{", "").replace("}", "")))
    assert len(admin_only) >= 10
    assert ("POST", "/admin/system/alerts/alert_id/acknowledge") in admin_only
    assert ("DELETE", "/admin/system/silences/silence_id") in admin_only
    assert ("GET", "/admin/system/audit") in admin_only
    async with client(gateway, viewer) as c:
        for method, path in admin_only:
            r = await c.request(method, path, json={})
            assert r.status_code == 403, (method, path, r.text)
            assert r.json() == {"detail": "this needs the admin role"}
        # Reads are fine, and a method a route does not have is not a way around.
        assert (await c.get("/admin/system/hosts")).status_code == 200
        assert (await c.put("/admin/system/hosts")).status_code in (403, 405)
    async with client(gateway, await login(gateway)) as c:
        denied = (await c.get("/admin/system/audit", params={"action": "denied"})).json()
        assert len(denied["entries"]) == len(admin_only)
        assert {e["who"] for e in denied["entries"]} == {"viewer"}


def test_a_short_signing_key_stops_the_gateway_at_start(service_env: dict[str, str]) -> None:
    env = service_env | {"VITALS_AUTH_JWT_SECRET": "too-short-a-key"}
    proc = subprocess.run(
        [sys.executable, "-m", "vitals_gateway"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "jwt_secret" in proc.stderr
    assert "at least 32 bytes" in proc.stderr
    assert "too-short-a-key" not in proc.stderr


@pytest.fixture
async def strict(nats_url: str, redis_url: str) -> AsyncIterator[Gateway]:
    auth = {"login_attempts": 3, "login_attempts_per_address": 3, "api_rate": 0.01, "api_burst": 3}
    settings = gateway_settings(nats_url, redis_url, auth=auth)
    async with running(settings, consume=False) as gw:
        yield gw


async def test_brute_force_is_refused_with_retry_after_and_audited_without_secrets(
    strict: Gateway, redis: Redis
) -> None:
    guesses = ["hunter2-guess-1", "hunter2-guess-2", "hunter2-guess-3"]
    async with client(strict) as c:
        for guess in guesses:
            r = await c.post("/auth/token", data={"username": "admin", "password": guess})
            assert r.status_code == 401
        r = await c.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 300
        # Same address, another name: refused too once the address is over its own limit.
        r = await c.post("/auth/token", data={"username": "viewer", "password": VIEWER_PASSWORD})
        assert r.status_code == 429
    assert strict.state.counters.get("logins_failed") == 3

    # SCAN, not KEYS: a cluster client scans every node.
    await redis.delete(*[k async for k in redis.scan_iter(match=keys.login_attempts("*"))])
    admin = await login(strict)
    async with client(strict, admin) as c:
        created = (await c.post("/auth/api-tokens", json={"name": "ci"})).json()
        entries = (await c.get("/admin/system/audit")).json()["entries"]
    failed = [e for e in entries if e["action"] == "login" and not e["ok"]]
    assert len(failed) == 5
    assert {e["who"] for e in failed} == {"admin", "viewer"}
    assert all(e["address"] for e in failed)
    assert any(e["action"] == "api_token.create" and e["who"] == "admin" for e in entries)
    raw = "".join(str(e) for e in await redis.lrange(keys.AUDIT, 0, -1))
    for secret in [
        *guesses,
        ADMIN_PASSWORD,
        VIEWER_PASSWORD,
        admin,
        created["token"],
        created["token"].rsplit("_", 1)[1],
    ]:
        assert secret not in raw


async def test_api_tokens_and_the_per_token_rate_limit(strict: Gateway) -> None:
    admin = await login(strict)
    async with client(strict, admin) as c:
        r = await c.post("/auth/api-tokens", json={"name": "deploy-bot", "role": "viewer"})
        assert r.status_code == 200, r.text
        created = r.json()
        token = created["token"]
        assert token.startswith("vt_")
        listed = (await c.get("/auth/api-tokens")).json()["tokens"]
        assert [(t["name"], t["role"], t["created_by"]) for t in listed] == [
            ("deploy-bot", "viewer", "admin")
        ]
        assert "token" not in listed[0]
        assert "secret_sha256" not in listed[0]
        r = await c.post("/auth/api-tokens", json={"name": ""})
        assert r.status_code == 422

    async with client(strict, token) as bot:
        me = (await bot.get("/auth/me")).json()
        assert (me["name"], me["role"], me["kind"]) == ("deploy-bot", "viewer", "api")
        # A viewer API token may annotate (deploy scripts) but not act as admin.
        r = await bot.post("/admin/system/annotations", json={"text": "deploy 42"})
        assert r.status_code == 201
        assert (await bot.post("/admin/system/silences", json={})).status_code == 403
        # The bucket (burst 3, one more every 100 s) is spent: the next request waits.
        r = await bot.get("/admin/system/hosts")
        assert r.status_code == 429
        assert 90 <= int(r.headers["retry-after"]) <= 100

    async with client(strict, await login(strict)) as c:  # a fresh token, a fresh bucket
        r = await c.delete(f"/auth/api-tokens/{created['id']}")
        assert r.status_code == 204
        assert (await c.delete(f"/auth/api-tokens/{created['id']}")).status_code == 404
    async with client(strict, token) as bot:  # checked before the rate limit
        assert (await bot.get("/admin/system/hosts")).status_code == 401


async def test_refresh_rotates_the_token(gateway: Gateway) -> None:
    first = await login(gateway)
    async with client(gateway, first) as c:
        r = await c.post("/auth/refresh")
        assert r.status_code == 200
        second = r.json()["access_token"]
        assert r.json()["token_type"] == "bearer"
        assert (await c.get("/admin/system/hosts")).status_code == 401  # the old one is revoked
    old = jwt.decode(first, options={"verify_signature": False})
    new = jwt.decode(second, options={"verify_signature": False})
    assert new["auth_time"] == old["auth_time"]
    assert new["jti"] != old["jti"]
    async with client(gateway, second) as c:
        assert (await c.get("/admin/system/hosts")).status_code == 200


async def test_cors_is_off_unless_origins_are_configured(
    gateway: Gateway, nats_url: str, redis_url: str
) -> None:
    preflight = {"Origin": "http://dash.example", "Access-Control-Request-Method": "GET"}
    async with client(gateway) as c:
        r = await c.options("/admin/system/hosts", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    settings = gateway_settings(nats_url, redis_url, cors_origins=["http://dash.example"])
    async with running(settings, consume=False) as gw, client(gw) as c:
        r = await c.options("/admin/system/hosts", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "http://dash.example"
        assert "access-control-allow-credentials" not in r.headers
        r = await c.options("/admin/system/hosts", headers=preflight | {"Origin": "http://evil"})
        assert "access-control-allow-origin" not in r.headers
