"""The analytics endpoints: fetch from the window store, build the answer, encode it.

`/admin/system/health`, `/analytics`, `/optimization` and `/components`. The decisions are
the pure builders of `vitals_core.analytics.answers`; this module only fetches what their
plans ask for, through the small `WindowStore` protocol (`analytics/store.py` over Redis), a
bounded number of hosts at a time: per host, one round trip for its head (latest sample,
series names, checks) and one for all the points its answer needs.

Wiring (in the app factory)::

    context = AnalyticsContext(store=..., settings=settings, counters=..., cache=...)
    app.include_router(create_router(lambda: context, authorize=current_user))
    register_openapi(app)
"""

# No `from __future__ import annotations`: FastAPI reads the closures' Annotated
# dependencies at definition time.

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple, Protocol, TypeVar

import msgspec
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, status

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
from vitals_gateway.cache import TtlCache, cached_json
from vitals_gateway.models import ErrorDetail
from vitals_gateway.openapi import responds
from vitals_gateway.routes.metrics import HOST

log = logging.getLogger("vitals.gateway.analytics")

PointList = Sequence[tuple[float, float]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HostHead:
    """What the plans are made from: a host's latest sample, series names and checks."""

    sample: MetricSample | None
    names: list[str]
    checks: list[CheckResult] = field(default_factory=list)


class Read(NamedTuple):
    names: Sequence[str]
    start: float
    end: float


class WindowStore(Protocol):
    """What the analytics need from the gateway's store.

    `heads` answers for several hosts in one round trip, None for a host that never
    reported. `points` answers several reads of one host in one round trip, each from the
    finest resolution that covers its `start` (raw for the last hour, 1-minute for the last
    day, 10-minute for the week, hourly beyond), in time order; a series the host lacks maps
    to an empty list.
    """

    async def hosts(self) -> list[str]: ...

    async def heads(self, hosts: Sequence[str]) -> list[HostHead | None]: ...

    async def points(self, host: str, reads: Sequence[Read]) -> list[dict[str, PointList]]: ...

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
    # Answers kept for CACHE_METRICS_TIMEOUT (`gateway.cache_ttl`); None: always computed.
    cache: TtlCache | None = None


class AnalyticsListAnswer(msgspec.Struct, kw_only=True):
    generated_at: float
    range: str
    hosts: list[AnalyticsAnswer]


class StoreUnavailable(Exception):
    pass


async def _store(call: Awaitable[T]) -> T:
    try:
        return await call
    except Exception as exc:
        log.warning("the window store failed: %s", exc.__class__.__name__)
        raise StoreUnavailable from None


async def _heads(ctx: AnalyticsContext, host: str | None) -> list[tuple[str, HostHead]]:
    """The hosts asked for, each with its head; an unknown `host` is a 404."""
    if host is not None:
        (head,) = await _store(ctx.store.heads([host]))
        if head is None:
            ctx.counters.inc("analytics_bad_requests")
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown host {host!r}")
        return [(host, head)]
    known = sorted(await _store(ctx.store.hosts()))
    heads = await _store(ctx.store.heads(known))
    return [(h, head) for h, head in zip(known, heads, strict=True) if head is not None]


async def _each(
    ctx: AnalyticsContext,
    heads: Sequence[tuple[str, HostHead]],
    fn: Callable[[str, HostHead], Awaitable[T]],
) -> list[T]:
    gate = asyncio.Semaphore(max(1, ctx.concurrency))

    async def one(host: str, head: HostHead) -> T:
        async with gate:
            return await fn(host, head)

    return list(await asyncio.gather(*(one(h, head) for h, head in heads)))


# --- the four answers -----------------------------------------------------------------------


async def health_answer(ctx: AnalyticsContext, host: str | None) -> HealthAnswer:
    now = ctx.clock()
    store = ctx.store
    heads, alerts = await asyncio.gather(_heads(ctx, host), _store(store.active_alerts()))

    async def fetch(h: str, head: HostHead) -> HostHealthData:
        recent_names, ups = answers.health_plan(head.sample, head.names)
        recent, check_up = await _store(
            store.points(
                h, [Read(recent_names, now - RECENT, now), Read(ups, now - answers.HOUR, now)]
            ),
        )
        return HostHealthData(h, head.sample, recent, head.checks, check_up)

    data = await _each(ctx, heads, fetch)
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
    heads = await _heads(ctx, host)
    length = answers.RANGES[range_]
    settings = ctx.settings.analytics

    async def one(h: str, head: HostHead) -> AnalyticsAnswer | None:
        try:
            plan = answers.analytics_plan(head.names, head.sample, metric, settings)
        except answers.UnknownMetric as exc:
            if host is None:
                return None  # across the fleet, hosts without the metric are left out
            ctx.counters.inc("analytics_bad_requests")
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{exc} {h!r}") from None
        wanted = plan.current_series()
        # The range already covers a capacity window when their lengths match.
        capacity = [t.series for t in plan.targets]
        day_names = [] if length == answers.DAY else capacity
        week_names = [] if length == answers.WEEK else capacity
        current, previous, day, week = await _store(
            ctx.store.points(
                h,
                [
                    Read(wanted, now - length, now),
                    Read(wanted, now - 2 * length, now - length),
                    Read(day_names, now - answers.DAY, now),
                    Read(week_names, now - answers.WEEK, now),
                ],
            ),
        )
        day = current if length == answers.DAY else day
        week = current if length == answers.WEEK else week
        return await asyncio.to_thread(
            answers.build_analytics, h, range_, plan, current, previous, day, week, now, settings
        )

    built = [a for a in await _each(ctx, heads, one) if a is not None]
    if metric is not None and heads and not built:
        ctx.counters.inc("analytics_bad_requests")
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no host has a series {metric!r}")
    return AnalyticsListAnswer(generated_at=now, range=range_, hosts=built)


async def optimization_answer(ctx: AnalyticsContext, host: str | None) -> OptimizationAnswer:
    now = ctx.clock()
    heads = await _heads(ctx, host)
    settings = ctx.settings.analytics

    async def one(h: str, head: HostHead) -> list[Recommendation]:
        plan = answers.optimization_plan(head.names, head.sample, settings)
        hour, day, week = await _store(
            ctx.store.points(
                h,
                [
                    Read(plan.hour, now - answers.HOUR, now),
                    Read(plan.day, now - answers.DAY, now),
                    Read(plan.week, now - answers.WEEK, now),
                ],
            ),
        )
        return await asyncio.to_thread(
            answers.host_recommendations, h, head.sample, plan, hour, day, week, now
        )

    built = await _each(ctx, heads, one)
    return answers.build_optimization(
        {h: recs for (h, _), recs in zip(heads, built, strict=True)}, now
    )


async def components_answer(ctx: AnalyticsContext, host: str | None) -> ComponentsAnswer:
    now = ctx.clock()
    heads = await _heads(ctx, host)
    return answers.build_components(
        {h: head.sample for h, head in heads}, ctx.settings.analytics.components, now
    )


# --- HTTP -----------------------------------------------------------------------------------

ANSWERS: tuple[type[msgspec.Struct], ...] = (
    HealthAnswer,
    AnalyticsListAnswer,
    OptimizationAnswer,
    ComponentsAnswer,
    ErrorDetail,
)
_REF = "#/components/schemas/{name}"
_, SCHEMAS = msgspec.json.schema_components(ANSWERS, ref_template=_REF)


def _documented(answer: type[msgspec.Struct], what: str) -> dict[int | str, dict[str, Any]]:
    out = responds(answer, 404, 422, 503, description=what)
    out[404]["description"] = "Unknown host, or a metric no host has."
    out[503]["description"] = "The metrics store (Redis) did not answer."
    return out


HostQuery = Annotated[
    str | None,
    Query(max_length=128, pattern=HOST, description="One host; without it, the whole fleet"),
]


def create_router(
    context: Callable[..., AnalyticsContext], authorize: Callable[..., Any]
) -> APIRouter:
    """The four analytics routes; `authorize` guards every one (e.g. the bearer check)."""
    router = APIRouter(
        prefix="/admin/system", tags=["analytics"], dependencies=[Depends(authorize)]
    )
    Ctx = Annotated[AnalyticsContext, Depends(context)]

    async def answer(
        ctx: AnalyticsContext,
        request: Request,
        key: tuple[object, ...],
        build: Callable[[], Awaitable[msgspec.Struct]],
    ) -> Response:
        async def encoded() -> bytes:
            return msgspec.json.encode(await build())

        try:
            if ctx.cache is None:
                return Response(await encoded(), media_type="application/json")
            return await cached_json(ctx.cache, request, ("analytics", *key), encoded)
        except StoreUnavailable:
            ctx.counters.inc("analytics_store_errors")  # once per request
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, detail="the metrics store did not answer"
            ) from None

    @router.get(
        "/health",
        response_class=Response,
        responses=_documented(HealthAnswer, "Scores with the parts that explain them"),
    )
    async def health(ctx: Ctx, request: Request, host: HostQuery = None) -> Response:
        """Health score 0–100 per host, per service-check group and for the fleet."""
        return await answer(ctx, request, ("health", host), lambda: health_answer(ctx, host))

    @router.get(
        "/analytics",
        response_class=Response,
        responses=_documented(AnalyticsListAnswer, "Trends, percentiles, anomalies, forecasts"),
    )
    async def analytics(
        ctx: Ctx,
        request: Request,
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
        return await answer(
            ctx,
            request,
            ("analytics", host, range_, metric),
            lambda: analytics_answer(ctx, host, range_, metric),
        )

    @router.get(
        "/optimization",
        response_class=Response,
        responses=_documented(OptimizationAnswer, "Recommendations with their evidence"),
    )
    async def optimization(ctx: Ctx, request: Request, host: HostQuery = None) -> Response:
        """Recommendations from deterministic rules, each with evidence and an action."""
        return await answer(
            ctx, request, ("optimization", host), lambda: optimization_answer(ctx, host)
        )

    @router.get(
        "/components",
        response_class=Response,
        responses=_documented(ComponentsAnswer, "CPU and memory per component"),
    )
    async def components(ctx: Ctx, request: Request, host: HostQuery = None) -> Response:
        """CPU and memory per process group (API, workers, database, Redis, NATS, Vitals)."""
        return await answer(
            ctx, request, ("components", host), lambda: components_answer(ctx, host)
        )

    return router


def register_openapi(app: FastAPI) -> None:
    """Add the answers' schemas to the app's OpenAPI document, where the routes refer to them."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, component in SCHEMAS.items():
            schemas.setdefault(name, component)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
