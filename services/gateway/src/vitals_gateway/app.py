"""Build the FastAPI application around an already-connected `State`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from vitals_gateway import __version__
from vitals_gateway.deps import State
from vitals_gateway.routes import auth, health, system
from vitals_gateway.web import mount_dashboard

log = logging.getLogger("vitals.gateway")


def create_app(state: State) -> FastAPI:
    app = FastAPI(
        title="Vitals",
        version=__version__,
        description="System performance, application metrics and alerts for a fleet of hosts.",
    )
    app.state.vitals = state
    app.include_router(auth.router)
    app.include_router(system.router)
    app.include_router(health.router)
    mount_dashboard(app)  # last: its catch-all must not shadow an API route

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name each bad parameter, never echo internals.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    return app
