"""The analytics endpoints: fetch from the window store, build the answer, encode it.

`/admin/system/health`, `/analytics`, `/optimization` and `/components`. The decisions are
the pure builders of `vitals_core.analytics.answers`; this module only fetches what their
plans ask for, through the small `WindowStore` protocol, a bounded number of hosts at a time.

Wiring (in the app factory)::

    context = AnalyticsContext(store=..., settings=settings, counters=state.counters)
    app.include_router(create_router(lambda: context, authorize=current_user))
    register_openapi(app)
"""

# No `from __future__ import annotations`: FastAPI reads the closures' Annotated
# dependencies at definition time.

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

import msgspec
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response, status

from vitals_core.analytics import answers
from vitals_core.analytics.answers import (
    AnalyticsAnswer,
    ComponentsAnswer,
    HealthAnswer,
    HostHealthData,
    OptimizationAnswer,
    Range,
)
from vitals_core.analytics.health import RECENT
from vitals_core.analytics.recommendations import Recommendation
from vitals_core.events import AlertEvent, CheckResult, MetricSample
from vitals_core.settings import Settings

log = logging.getLogger("vitals.gateway.analytics")

PointList = list[tuple[float, float]]
T = TypeVar("T")


class WindowStore(Protocol):
    """What the analytics need from the gateway's store.

    `points` answers from the finest resolution that covers `start` (raw for the last
    hour, 1-minute for the last day, 10-minute for the week), in time order; a series the
    host lacks maps to an empty list.
    """

    async def hosts(self) -> list[str]: ...

    async def series_names(self, host: str) -> list[str]: ...

    async def latest(self, host: str) -> MetricSample | None: ...

    async def points(
        self, host: str, names: Sequence[str], start: float, end: float
    ) -> dict[str, PointList]: ...

    async def checks(self, host: str) -> list[CheckResult]: ...

    async def active_alerts(self) -> list[AlertEvent]: ...


class CounterSink(Protocol):
    def inc(self, name: str, by: int = 1) -> None: ...


@dataclass
class AnalyticsContext:
    store: WindowStore
    settings: Settings
    counters: CounterSink
    clock: Callable[[], float] = time.time
    # Hosts whose data is fetched at once; the rest wait their turn.
    concurrency: int = 16


class AnalyticsListAnswer(msgspec.Struct, kw_only=True):
    generated_at: float
    range: str
    hosts: list[AnalyticsAnswer]


class StoreUnavailable(Exception):
    pass


async def _store(ctx: AnalyticsContext, call: Awaitable[T]) -> T:
    try:
        return await call
    except Exception as exc:
        ctx.counters.inc("analytics_store_errors")
        log.warning("the window store failed: %s", exc.__class__.__name__)
        raise StoreUnavailable from None


async def _hosts(ctx: AnalyticsContext, host: str | None) -> list[str]:
    known = await _store(ctx, ctx.store.hosts())
    if host is None:
        return sorted(known)
    if host not in known:
        ctx.counters.inc("analytics_bad_requests")
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown host {host!r}")
    return [host]


async def _each(
    ctx: AnalyticsContext, hosts: Sequence[str], fn: Callable[[str], Awaitable[T]]
) -> list[T]:
    gate = asyncio.Semaphore(max(1, ctx.concurrency))

    async def one(host: str) -> T:
        async with gate:
            return await fn(host)

    return list(await asyncio.gather(*(one(h) for h in hosts)))


def _json(answer: msgspec.Struct) -> Response:
    return Response(msgspec.json.encode(answer), media_type="application/json")


# --- the four answers -----------------------------------------------------------------------


async def health_answer(ctx: AnalyticsContext, host: str | None) -> HealthAnswer:
    now = ctx.clock()
    hosts = await _hosts(ctx, host)
    store = ctx.store

    async def fetch(h: str) -> HostHealthData:
        sample, names, checks = await asyncio.gather(
            _store(ctx, store.latest(h)),
            _store(ctx, store.series_names(h)),
            _store(ctx, store.checks(h)),
        )
        recent_names, ups = answers.health_plan(sample, names)
        recent, check_up = await asyncio.gather(
            _store(ctx, store.points(h, recent_names, now - RECENT, now)),
            _store(ctx, store.points(h, ups, now - answers.HOUR, now)),
        )
        return HostHealthData(h, sample, recent, checks, check_up)

    data = await _each(ctx, hosts, fetch)
    alerts = await _store(ctx, store.active_alerts())
    return await asyncio.to_thread(
        answers.build_health,
        data,
        alerts,
        now,
        ctx.settings.gateway.stale_after,
        ctx.settings.analytics,
        host is None,
    )


async def analytics_answer(
    ctx: AnalyticsContext, host: str | None, range_: Range, metric: str | None
) -> AnalyticsListAnswer:
    now = ctx.clock()
    hosts = await _hosts(ctx, host)
    store = ctx.store
    length = answers.RANGES[range_]
    settings = ctx.settings.analytics

    async def one(h: str) -> AnalyticsAnswer | None:
        sample, names = await asyncio.gather(
            _store(ctx, store.latest(h)), _store(ctx, store.series_names(h))
        )
        try:
            plan = answers.analytics_plan(names, sample, metric, settings)
        except answers.UnknownMetric as exc:
            if host is None:
                return None  # across the fleet, hosts without the metric are left out
            ctx.counters.inc("analytics_bad_requests")
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{exc} {h!r}") from None
        wanted = plan.current_series()
        capacity = [t.series for t in plan.targets]
        current, previous = await asyncio.gather(
            _store(ctx, store.points(h, wanted, now - length, now)),
            _store(ctx, store.points(h, wanted, now - 2 * length, now - length)),
        )
        # The range already covers a capacity window when their lengths match.
        day, week = await asyncio.gather(
            _capacity(ctx, h, [] if length == answers.DAY else capacity, now, answers.DAY),
            _capacity(ctx, h, [] if length == answers.WEEK else capacity, now, answers.WEEK),
        )
        day = current if length == answers.DAY else day
        week = current if length == answers.WEEK else week
        return await asyncio.to_thread(
            answers.build_analytics, h, range_, plan, current, previous, day, week, now, settings
        )

    built = [a for a in await _each(ctx, hosts, one) if a is not None]
    if metric is not None and hosts and not built:
        ctx.counters.inc("analytics_bad_requests")
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no host has a series {metric!r}")
    return AnalyticsListAnswer(generated_at=now, range=range_, hosts=built)


async def _capacity(
    ctx: AnalyticsContext, host: str, names: list[str], now: float, length: float
) -> dict[str, PointList]:
    if not names:
        return {}
    return await _store(ctx, ctx.store.points(host, names, now - length, now))


async def optimization_answer(ctx: AnalyticsContext, host: str | None) -> OptimizationAnswer:
    now = ctx.clock()
    hosts = await _hosts(ctx, host)
    store = ctx.store
    settings = ctx.settings.analytics

    async def one(h: str) -> list[Recommendation]:
        sample, names = await asyncio.gather(
            _store(ctx, store.latest(h)), _store(ctx, store.series_names(h))
        )
        plan = answers.optimization_plan(names, sample, settings)
        hour, day, week = await asyncio.gather(
            _store(ctx, store.points(h, plan.hour, now - answers.HOUR, now)),
            _store(ctx, store.points(h, plan.day, now - answers.DAY, now)),
            _capacity(ctx, h, plan.week, now, answers.WEEK),
        )
        return await asyncio.to_thread(
            answers.host_recommendations, h, sample, plan, hour, day, week, now
        )

    built = await _each(ctx, hosts, one)
    return answers.build_optimization(dict(zip(hosts, built, strict=True)), now)


async def components_answer(ctx: AnalyticsContext, host: str | None) -> ComponentsAnswer:
    now = ctx.clock()
    hosts = await _hosts(ctx, host)
    samples = await _each(ctx, hosts, lambda h: _store(ctx, ctx.store.latest(h)))
    return answers.build_components(
        dict(zip(hosts, samples, strict=True)), ctx.settings.analytics.components, now
    )


# --- HTTP -----------------------------------------------------------------------------------

ANSWERS: tuple[type[msgspec.Struct], ...] = (
    HealthAnswer,
    AnalyticsListAnswer,
    OptimizationAnswer,
    ComponentsAnswer,
)
_REF = "#/components/schemas/{name}"
_, SCHEMAS = msgspec.json.schema_components(ANSWERS, ref_template=_REF)


def _documented(answer: type[msgspec.Struct], what: str) -> dict[int | str, dict[str, Any]]:
    schema = {"$ref": _REF.format(name=answer.__name__)}
    return {
        200: {"description": what, "content": {"application/json": {"schema": schema}}},
        404: {"description": "unknown host, or a metric the host does not have"},
        503: {"description": "the window store did not answer"},
    }


HostQuery = Annotated[
    str | None, Query(max_length=128, description="one host; without it, the whole fleet")
]


def create_router(
    context: Callable[..., AnalyticsContext], authorize: Callable[..., Any]
) -> APIRouter:
    """The four analytics routes; `authorize` guards every one (e.g. the bearer check)."""
    router = APIRouter(
        prefix="/admin/system", tags=["analytics"], dependencies=[Depends(authorize)]
    )
    Ctx = Annotated[AnalyticsContext, Depends(context)]

    async def answer(ctx: AnalyticsContext, build: Awaitable[msgspec.Struct]) -> Response:
        try:
            return _json(await build)
        except StoreUnavailable:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, detail="the metrics store did not answer"
            ) from None

    @router.get(
        "/health",
        response_class=Response,
        responses=_documented(HealthAnswer, "Scores with the parts that explain them"),
    )
    async def health(ctx: Ctx, host: HostQuery = None) -> Response:
        """Health score 0–100 per host, per service-check group and for the fleet."""
        return await answer(ctx, health_answer(ctx, host))

    @router.get(
        "/analytics",
        response_class=Response,
        responses=_documented(AnalyticsListAnswer, "Trends, percentiles, anomalies, forecasts"),
    )
    async def analytics(
        ctx: Ctx,
        host: HostQuery = None,
        range_: Annotated[Range, Query(alias="range")] = "24h",
        metric: Annotated[
            str | None,
            Query(
                max_length=200, description="a series, e.g. disk.percent{mount=/} or cpu.percent"
            ),
        ] = None,
    ) -> Response:
        """Per metric: trend, change against the previous range, percentiles and anomalies;
        per application: throughput, error rate, response times, queue growth; capacity."""
        return await answer(ctx, analytics_answer(ctx, host, range_, metric))

    @router.get(
        "/optimization",
        response_class=Response,
        responses=_documented(OptimizationAnswer, "Recommendations with their evidence"),
    )
    async def optimization(ctx: Ctx, host: HostQuery = None) -> Response:
        """Recommendations from deterministic rules, each with evidence and an action."""
        return await answer(ctx, optimization_answer(ctx, host))

    @router.get(
        "/components",
        response_class=Response,
        responses=_documented(ComponentsAnswer, "CPU and memory per component"),
    )
    async def components(ctx: Ctx, host: HostQuery = None) -> Response:
        """CPU and memory per process group (API, workers, database, Redis, NATS, Vitals)."""
        return await answer(ctx, components_answer(ctx, host))

    return router


def register_openapi(app: FastAPI) -> None:
    """Add the answers' schemas to the app's OpenAPI document, where the routes refer to them."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
