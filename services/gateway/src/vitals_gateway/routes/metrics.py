"""Current and historical metrics, hosts and service checks."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from vitals_core import events, keys
from vitals_core import series as series_names
from vitals_gateway import models
from vitals_gateway.cache import cached_json
from vitals_gateway.deps import State, StateDep, authorize
from vitals_gateway.openapi import responds
from vitals_gateway.params import BadParam, time_range
from vitals_gateway.storage import windows
from vitals_gateway.storage.redisio import as_text, blobs
from vitals_gateway.storage.store import Window, natural
from vitals_gateway.storage.windows import WindowError

router = APIRouter(prefix="/admin/system", tags=["metrics"], dependencies=[Depends(authorize)])

HOST = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$"
MAX_SERIES = 500
# Cache keys of the answers that list hosts; the ingest drops them when a new host appears.
FLEET_KEY = ("fleet",)
HOSTS_KEY = ("hosts",)

HostQuery = Annotated[str | None, Query(max_length=128, pattern=HOST, description="One host")]
RangeQuery = Annotated[
    Literal["1h", "6h", "24h", "7d", "30d", "90d"] | None,
    Query(alias="range", description="Up to now; or give start/end"),
]
TimeQuery = Annotated[str | None, Query(max_length=40, description="Epoch seconds or ISO 8601")]


def _json(payload: Any) -> Response:
    return Response(msgspec.json.encode(payload), media_type="application/json")


async def _cached(
    state: State,
    request: Request,
    key: tuple[object, ...],
    compute: Callable[[], Awaitable[Response]],
) -> Response:
    """The answer from the cache (CACHE_METRICS_TIMEOUT), gzipped once when it is large."""

    async def body() -> bytes:
        return bytes((await compute()).body)

    return await cached_json(state.cache, request, key, body)


def _status(last_seen: float, now: float, state: State) -> str:
    return "up" if now - last_seen <= state.settings.gateway.stale_after else "stale"


async def _known(state: State, host: str) -> float:
    last = await state.store.last_seen(host)
    if last is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown host {host!r}")
    return last


@router.get("/hosts", responses=responds(models.HostList))
async def hosts(state: StateDep) -> Response:
    """Every host that has reported: when it was last seen, up or stale, active alerts.

    Last seen and the status come from Redis at every request; only each host's facts and
    alert count are cached."""
    now = time.time()
    seen = await state.store.hosts()
    facts, age = await state.cache.get_aged(HOSTS_KEY, lambda: _host_facts(state))
    if not seen.keys() <= facts.keys():  # a host newer than the cached facts
        state.cache.discard(HOSTS_KEY)
        facts, age = await state.cache.get_aged(HOSTS_KEY, lambda: _host_facts(state))
    out = [
        {
            "host": h,
            "last_seen": seen[h],
            "status": _status(seen[h], now, state),
            "alerts": facts[h][1] if h in facts else 0,
            "info": msgspec.Raw(facts[h][0]) if h in facts and facts[h][0] else None,
        }
        for h in sorted(seen)
    ]
    return Response(
        msgspec.json.encode({"hosts": out}),
        media_type="application/json",
        headers={"Age": str(int(age))},
    )


async def _host_facts(state: State) -> dict[str, tuple[bytes | None, int]]:
    """host -> (its facts as stored, its active alerts)."""
    names = sorted(await state.store.hosts())
    infos = await state.store.get_many([_info_key(h) for h in names])
    alerts: dict[str, int] = {}
    for alert in await state.alerts.active():
        alerts[alert.host] = alerts.get(alert.host, 0) + 1
    return {h: (info, alerts.get(h, 0)) for h, info in zip(names, infos, strict=True)}


def _info_key(host: str) -> str:
    return keys.host_info(host)


@router.get("/metrics", responses=responds(models.HostMetrics, 404, description="See below"))
async def metrics(request: Request, state: StateDep, host: HostQuery = None) -> Response:
    """Current metrics. With `host`: that host's latest sample, applications and checks
    (`HostMetrics`). Without: a compact summary per host of the fleet (`FleetMetrics`)."""
    if host is None:
        return await _cached(state, request, FLEET_KEY, lambda: _fleet(state))
    pipe = state.redis.pipeline(transaction=False)
    pipe.get(keys.latest(host))
    pipe.hget(keys.hosts(keys.partition(host)), host)
    pipe.hgetall(keys.app_latest(host))
    pipe.hgetall(keys.checks_latest(host))
    latest, last_seen, apps, checks = await pipe.execute()
    if latest is None or last_seen is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown host {host!r}")
    seen = float(last_seen)
    return _json(
        {
            "host": host,
            "status": _status(seen, time.time(), state),
            "last_seen": seen,
            "metrics": msgspec.Raw(latest),
            "apps": {as_text(k): msgspec.Raw(v) for k, v in apps.items()},
            "checks": {as_text(k): msgspec.Raw(v) for k, v in checks.items()},
        }
    )


async def _fleet(state: State) -> Response:
    fleet = await state.store.fleet()
    return _json({"hosts": {h: msgspec.Raw(v) for h, v in sorted(fleet.items())}})


@router.get("/series", responses=responds(models.SeriesList, 404))
async def series(
    state: StateDep, host: Annotated[str, Query(max_length=128, pattern=HOST)]
) -> Response:
    """The names of every series a host has (for `historical?metric=`)."""
    await _known(state, host)
    return _json({"host": host, "series": await state.store.series_names(host)})


@router.get("/metrics/historical", responses=responds(models.History, 404, 422))
async def historical(
    request: Request,
    state: StateDep,
    metric: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="A series (`cpu.percent`, `disk.percent{mount=/}`); without labels, "
            "every labelled series of that name",
        ),
    ],
    host: HostQuery = None,
    range_: RangeQuery = None,
    start: TimeQuery = None,
    end: TimeQuery = None,
    step: Annotated[int | None, Query(ge=1, le=30 * 86400, description="Seconds")] = None,
) -> Response:
    """A metric over time at the resolution the range needs: raw (1 h), 1-minute (24 h),
    10-minute (7 d) or 1-hour (90 d) rollups, merged to `step` when given."""
    now = time.time()
    try:
        t0, t1 = time_range(range_, start, end, now)
        windows.pick(t0, t1, now, step)
    except BadParam as exc:
        raise exc.http() from None
    except WindowError as exc:
        raise BadParam("start", str(exc)).http() from None
    key = ("historical", metric, host, range_, start, end, step)
    return await _cached(
        state, request, key, lambda: _historical(state, metric, host, t0, t1, step, now)
    )


async def _historical(
    state: State,
    metric: str,
    host: str | None,
    t0: float,
    t1: float,
    step: int | None,
    now: float,
) -> Response:
    found: list[tuple[str, dict[str, Window]]] = []
    if host is not None:
        one = await state.store.read(host, metric, t0, t1, step, now)
        if one is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown host {host!r}")
        if one:
            found.append((host, one))
    else:
        found = await _fleet_history(state, metric, t0, t1, step, now)
    if not found:
        where = f"host {host!r}" if host else "any host"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{where} has no series {metric!r}")
    out: list[dict[str, Any]] = []
    first: Window | None = None
    for h, result in found:
        for name, w in result.items():
            first = first or w
            _, labels = series_names.parse_series(name)
            # A null where the series has no data: charts break the line there.
            points = windows.gapped(w.points, t1)
            out.append({"host": h, "series": name, "labels": labels, "points": points})
    assert first is not None
    return _json(
        {
            "metric": metric,
            "resolution": first.resolution.name,
            "step": first.step,
            "start": t0,
            "end": t1,
            "series": out,
        }
    )


async def _fleet_history(
    state: State, metric: str, t0: float, t1: float, step: int | None, now: float
) -> list[tuple[str, dict[str, Window]]]:
    targets = sorted(await state.store.hosts())
    pipe = state.redis.pipeline(transaction=False)
    for h in targets:
        pipe.zrange(keys.series_names(h), 0, -1)
    wanted: list[tuple[str, list[str]]] = []
    for h, names in zip(targets, await pipe.execute(), strict=True):
        matching = _matching(metric, sorted((as_text(n) for n in blobs(names)), key=natural))
        if matching:
            wanted.append((h, matching))
    total = sum(len(names) for _, names in wanted)
    if total > MAX_SERIES:
        raise BadParam("host", f"{total} series match: give a host or a labelled metric").http()
    return [(h, await state.store.query_many(h, names, t0, t1, step, now)) for h, names in wanted]


def _matching(metric: str, names: list[str]) -> list[str]:
    if metric in names:
        return [metric]
    if "{" in metric:
        return []
    return [n for n in names if series_names.parse_series(n)[0] == metric]


@router.get("/services", responses=responds(models.Services, 404, 422))
async def services(
    request: Request,
    state: StateDep,
    host: HostQuery = None,
    range_: Annotated[
        Literal["1h", "6h", "24h", "7d", "30d"],
        Query(alias="range", description="Window of the uptime and response times"),
    ] = "24h",
) -> Response:
    """The latest result of every service check, with uptime % and response times."""
    if host is not None:
        await _known(state, host)
    return await _cached(
        state, request, ("services", host, range_), lambda: _services(state, host, range_)
    )


async def _services(state: State, host: str | None, range_: str) -> Response:
    now = time.time()
    span = windows.RANGES[range_]
    targets = [host] if host else sorted(await state.store.hosts())
    pipe = state.redis.pipeline(transaction=False)
    for h in targets:
        pipe.hgetall(keys.checks_latest(h))
    out = []
    decoder = msgspec.json.Decoder(events.CheckResult)
    for h, checks in zip(targets, await pipe.execute(), strict=True):
        if not checks:
            continue
        results = sorted((decoder.decode(v) for v in checks.values()), key=lambda c: c.check)
        names = [n for c in results for n in _check_series(c.check)]
        # The finest resolution holding the range, merged: fresh up to the last sample.
        windows_ = await state.store.query_many(h, names, now - span, now, None, now)
        for c in results:
            up, latency = (
                windows.combine(a for _, a in windows_[n].points.aggs())
                for n in _check_series(c.check)
            )
            out.append(
                {
                    "host": h,
                    "check": c.check,
                    "kind": c.check_kind,
                    "ok": c.ok,
                    "ts": c.ts,
                    "latency_ms": c.latency_ms,
                    "reason": c.reason,
                    "group": c.group,
                    "status_code": c.status_code,
                    "uptime_percent": round(up.mean * 100, 3) if up else None,
                    "latency_mean_ms": latency.mean if latency else None,
                    "latency_max_ms": latency.max if latency else None,
                }
            )
    return _json({"range": range_, "services": out})


def _check_series(check: str) -> tuple[str, str]:
    return (
        series_names.series_name("check.up", check=check),
        series_names.series_name("check.latency_ms", check=check),
    )
