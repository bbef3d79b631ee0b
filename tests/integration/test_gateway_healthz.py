"""`/healthz` says what is wrong: degraded (200) while the alerter does not answer, 503
with the reason when the gateway loses Redis or NATS. Real servers and a real alerter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import Processes, eventually
from tests.integration.test_gateway_harness import client, gateway_settings, running
from vitals_gateway.service import Gateway
from vitals_servers import NatsServer, RedisServer


async def health(gw: Gateway) -> tuple[int, dict[str, Any]]:
    async with client(gw) as c:
        r = await c.get("/healthz")
    return r.status_code, r.json()


async def test_the_alerter_not_answering_is_degraded_but_still_200(
    nats_url: str, redis_url: str, processes: Processes, service_env: dict[str, str]
) -> None:
    settings = gateway_settings(nats_url, redis_url, control_timeout=1.0, health_interval=0.3)
    async with running(settings, consume=False) as gw:

        async def degraded() -> Any:
            code, body = await health(gw)
            return code == 200 and body["status"] == "degraded" and body

        body = await eventually(degraded, timeout=10)
        assert isinstance(body, dict)
        assert body["reasons"] == ["alerter not answering: nothing answers its requests on the bus"]

        # A real alerter starts: healthy again.
        alerter = processes.service("alerter", service_env)

        async def ok() -> Any:
            code, body = await health(gw)
            return code == 200 and body["status"] == "ok" and body

        body = await eventually(ok, timeout=30)
        assert body == {"status": "ok", "reason": "", "reasons": []}

        alerter.kill()
        alerter.wait()
        await eventually(degraded, timeout=10)


async def test_storage_or_bus_unreachable_is_503_with_the_reason(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats") as nats, RedisServer(tmp_path / "redis") as redis:
        settings = gateway_settings(nats.url, redis.url, control_timeout=0.5, health_interval=0.3)
        async with running(settings, consume=False) as gw:
            redis.stop()

            async def refused() -> Any:
                code, body = await health(gw)
                return code == 503 and body

            body = await eventually(refused, timeout=15)
            assert isinstance(body, dict)
            assert body["status"] == "unavailable"
            assert "storage unreachable (Redis)" in body["reasons"]
            assert "storage unreachable" in body["reason"]

            nats.stop()

            async def no_bus() -> Any:
                code, body = await health(gw)
                return code == 503 and "bus unreachable (NATS)" in body["reasons"] and body

            body = await eventually(no_bus, timeout=15)
            assert isinstance(body, dict)
            # With the bus gone, the alerter cannot be asked: not listed on its own.
            assert not any(r.startswith("alerter") for r in body["reasons"])
        # Stopped while the bus is away: its client is closed, not left reconnecting.
        assert gw.state.nc.is_closed
