"""A real Prometheus scrapes the gateway's `/metrics` with the scrape token."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from tests.helpers import Processes, eventually, wait_http
from tests.integration.test_gateway_harness import gateway_settings, h100_sample, running, serving
from vitals_gateway.service import Gateway
from vitals_servers import free_port

SCRAPE_TOKEN = "scrape-token-for-the-test-0123456789"


@pytest.fixture
async def scraped(nats_url: str, redis_url: str) -> AsyncIterator[tuple[Gateway, str]]:
    settings = gateway_settings(nats_url, redis_url, scrape_token=SCRAPE_TOKEN)
    async with running(settings) as gw, serving(gw) as url:
        yield gw, url


def prometheus_config(target: str) -> str:
    return f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vitals
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials: {SCRAPE_TOKEN}
    static_configs:
      - targets: ["{target}"]
"""


async def test_prometheus_scrapes_fleet_values_and_the_gateways_own(
    scraped: tuple[Gateway, str],
    processes: Processes,
    tmp_path: Path,
    nats_url: str,
    h100_fixtures: Path,
) -> None:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: `make system-deps` (scripts/system-deps.sh)"
    _, url = scraped
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config(url.removeprefix("http://")))
    port = free_port()
    processes.start(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        {},
    )
    nc = await nats.connect(nats_url)
    await nc.jetstream().publish(
        "vitals.metrics.gpu-1", h100_sample(h100_fixtures, "gpu-1", time.time(), 1, 42.5)
    )
    await nc.close()
    api = f"http://127.0.0.1:{port}"
    await wait_http(f"{api}/-/ready", timeout=30)

    async def query(expr: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=api) as c:
            r = await c.get("/api/v1/query", params={"query": expr})
        result: list[dict[str, Any]] = r.json()["data"]["result"] if r.status_code == 200 else []
        return result

    cpu: Any = await eventually(lambda: query('vitals_cpu_percent{host="gpu-1"}'), timeout=30)
    assert cpu[0]["value"][1] == "42.5"
    assert cpu[0]["metric"]["job"] == "vitals"
    gpu: Any = await eventually(lambda: query('vitals_gpu_utilization{gpu="0"}'), timeout=10)
    assert (gpu[0]["metric"]["host"], gpu[0]["value"][1]) == ("gpu-1", "99")
    up: Any = await query('up{job="vitals"}')
    assert up[0]["value"][1] == "1"
    own: Any = await eventually(
        lambda: query("vitals_gateway_events_ingested_total > 0"), timeout=10
    )
    assert own
    scrapes: Any = await eventually(
        lambda: query('vitals_gateway_request_duration_seconds_count{route="/metrics"}'),
        timeout=10,
    )  # each scrape's own latency shows in the next one
    assert scrapes[0]["metric"]["method"] == "GET"

    # The scrape token opens /metrics and nothing else.
    async with httpx.AsyncClient(base_url=url) as c:
        bearer = {"Authorization": f"Bearer {SCRAPE_TOKEN}"}
        assert (await c.get("/metrics", headers=bearer)).status_code == 200
        assert (await c.get("/admin/system/hosts", headers=bearer)).status_code == 401
        assert (await c.get("/metrics")).status_code == 401
