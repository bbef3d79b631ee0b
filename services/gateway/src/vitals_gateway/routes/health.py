"""Liveness (no token) and the Prometheus exposition page."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Response

from vitals_core import events, keys, series
from vitals_gateway import exposition, models
from vitals_gateway.deps import State, StateDep, authorize
from vitals_gateway.healthwatch import verdict
from vitals_gateway.openapi import ref, responds

router = APIRouter(tags=["health"])
protected = APIRouter(tags=["health"], dependencies=[Depends(authorize)])

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/healthz",
    responses={
        **responds(models.Health, description="Serving: `ok`, or `degraded` with the reasons"),
        503: {
            "description": "NATS or Redis is unreachable (`unavailable`, with the reasons)",
            "content": {"application/json": {"schema": ref(models.Health)}},
        },
    },
)
async def healthz(state: StateDep) -> Response:
    """200 while NATS and Redis answer (`degraded` when the alerter does not); 503 with the
    reasons otherwise. No token needed."""
    try:
        await state.redis.ping()
        storage_ok = True
    except Exception:
        storage_ok = False
    watch = state.alerter_watch
    seen = verdict(state.nc.is_connected, storage_ok, watch.problem if watch else None)
    body = models.Health(status=seen.status, reason="; ".join(seen.reasons), reasons=seen.reasons)
    return Response(models.encode(body), seen.code, media_type="application/json")


@protected.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {PROMETHEUS_TYPE: {}}, "description": "Prometheus text format"}},
)
async def prometheus(state: StateDep) -> Response:
    """The fleet's current values (`host` label) and the gateway's own counters. Takes a
    bearer token, or the scrape token (`gateway.scrape_token`)."""
    fleet = await state.cache.get(("prometheus",), lambda: _fleet_lines(state))
    body = exposition.render([*fleet, *exposition.own_lines(state.counters)])
    return Response(body, media_type=PROMETHEUS_TYPE)


async def _fleet_lines(state: State) -> list[str]:
    seen = await state.store.hosts()
    hosts = sorted(seen)
    pipe = state.redis.pipeline(transaction=False)
    for h in hosts:
        pipe.get(keys.latest(h))
        pipe.hvals(keys.app_latest(h))
        pipe.hvals(keys.checks_latest(h))
    answers = await pipe.execute()
    stale_after = state.settings.gateway.stale_after
    now = time.time()

    def points() -> Iterator[tuple[str, str, float, float]]:
        for i, host in enumerate(hosts):
            yield host, "host.up", 1.0 if now - seen[host] <= stale_after else 0.0, seen[host]
            latest, apps, checks = answers[3 * i : 3 * i + 3]
            for doc in ([latest] if latest else []) + list(apps) + list(checks):
                try:
                    event = events.decode(doc)
                except events.InvalidEvent:
                    continue
                if now - event.ts > stale_after * 10:
                    continue  # a host long gone does not keep reporting old values
                for name, value in series.points(event):
                    yield host, name, value, event.ts

    # Thousands of hosts make tens of thousands of lines: built off the event loop.
    return await asyncio.to_thread(lambda: exposition.fleet_lines(points()))
