"""Failed logins are limited per client address and per (account, address), over real
uvicorn, NATS and Redis: an attacker elsewhere cannot lock the admin out of their own
address. Distinct client addresses are distinct loopback sources (127.0.0.x on Linux).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.integration.test_gateway_harness import (
    ADMIN_PASSWORD,
    VIEWER_PASSWORD,
    gateway_settings,
    running,
    serving,
)
from vitals_core import keys
from vitals_gateway.service import Gateway
from vitals_gateway.storage.redisio import as_text


@pytest.fixture
async def limited(nats_url: str, redis_url: str) -> AsyncIterator[tuple[Gateway, str]]:
    settings = gateway_settings(
        nats_url, redis_url, auth={"login_attempts": 3, "login_attempts_per_address": 5}
    )
    async with running(settings, consume=False) as gw, serving(gw) as url:
        yield gw, url


def from_address(url: str, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url, transport=httpx.AsyncHTTPTransport(local_address=address)
    )


async def attempt(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post("/auth/token", data={"username": username, "password": password})


async def test_an_attacker_elsewhere_cannot_lock_the_admin_out(
    limited: tuple[Gateway, str], redis: Redis
) -> None:
    gw, url = limited
    async with from_address(url, "127.0.0.2") as attacker, from_address(url, "127.0.0.3") as me:
        for i in range(3):
            assert (await attempt(attacker, "admin", f"guess-{i}")).status_code == 401
        # The attacker's address is refused for this account, the right password included.
        refused = await attempt(attacker, "admin", ADMIN_PASSWORD)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 300
        # The admin's own address is not: a typo, then the right password.
        assert (await attempt(me, "admin", "typo")).status_code == 401
        ok = await attempt(me, "admin", ADMIN_PASSWORD)
        assert ok.status_code == 200, ok.text
        assert set(ok.json()) == {"access_token", "token_type", "expires_in"}

        # The attacker's address moves on to another account: allowed until the address
        # itself has failed `login_attempts_per_address` times, then refused for every one.
        assert (await attempt(attacker, "viewer", "guess-a")).status_code == 401
        assert (await attempt(attacker, "viewer", "guess-b")).status_code == 401
        assert (await attempt(attacker, "viewer", VIEWER_PASSWORD)).status_code == 429
        assert (await attempt(attacker, "nobody", "x")).status_code == 429
        # ...while the admin still logs in from their address.
        assert (await attempt(me, "admin", ADMIN_PASSWORD)).status_code == 200
    assert gw.state.counters.get("logins_limited") == 3


async def test_the_limiter_keeps_a_bounded_number_of_keys_per_address(
    limited: tuple[Gateway, str], redis: Redis
) -> None:
    _, url = limited
    async with from_address(url, "127.0.0.4") as spray:
        for i in range(40):
            r = await attempt(spray, f"user-{i}-" + "x" * 300, "wrong")
            assert r.status_code == (401 if i < 5 else 429)
    stored = [as_text(k) for k in await redis.keys(keys.login_attempts("*"))]
    # One counter for the address, one per account it tried before it was stopped; each
    # expires with the window, and a name is cut to a bounded length.
    assert len(stored) == 6
    assert all("127.0.0.4" in k and len(k) < 200 for k in stored)
    for k in stored:
        assert 0 < await redis.ttl(k) <= 300
