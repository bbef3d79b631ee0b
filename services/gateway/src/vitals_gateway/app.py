"""Build the FastAPI application around an already-connected `State`."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitals_gateway import __version__, openapi
from vitals_gateway.analytics import api as analytics_api
from vitals_gateway.analytics.store import RedisAnalyticsStore
from vitals_gateway.counters import Counters
from vitals_gateway.deps import State, authorize
from vitals_gateway.routes import alerts, annotate, audit, auth, health, metrics, stream
from vitals_gateway.web import mount_dashboard

log = logging.getLogger("vitals.gateway")


def create_app(state: State) -> FastAPI:
    app = FastAPI(
        title="Vitals",
        version=__version__,
        description="System performance, application metrics and alerts for a fleet of hosts.",
        redoc_url=None,
    )
    app.state.vitals = state
    for module in (auth, metrics, alerts, annotate, audit, health):
        app.include_router(module.router)
    app.include_router(auth.protected)
    app.include_router(health.protected)
    app.include_router(stream.router)
    analytics = analytics_api.AnalyticsContext(
        store=RedisAnalyticsStore(state.store, state.alerts),
        settings=state.settings,
        counters=state.counters,
        cache=state.cache,
    )
    app.include_router(analytics_api.create_router(lambda: analytics, authorize))
    openapi.install(app)
    analytics_api.register_openapi(app)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name each bad parameter and why; never echo the input back.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def storage_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("Redis unavailable on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": "storage is unavailable; try again shortly"}, 503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    mount_dashboard(app, state.web_dir)  # last: its catch-all must not shadow an API route

    settings = state.settings.gateway
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,  # bearer tokens, no cookies
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(Timing, counters=state.counters)
    return app


class Timing:
    """Request latency per route template, for `/metrics`."""

    def __init__(self, app: ASGIApp, counters: Counters) -> None:
        self.app = app
        self.counters = counters

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.counters.observe(path, scope["method"], status, time.perf_counter() - started)
