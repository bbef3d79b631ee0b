"""Serve the dashboard's built files (`services/gateway/web/dist`) at `/`.

Hashed assets are cached for a year; every other path that is not an API route gets
`index.html` so the app's own routes (`/hosts/<host>`) survive a reload. Paths under the
API prefixes never fall back to the page: an unknown endpoint stays a JSON 404.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response

DIST_ENV = "VITALS_DASHBOARD_DIST"
API_PREFIXES = ("admin/", "auth/", "metrics", "healthz", "openapi.json", "docs", "redoc")


def default_dist() -> Path:
    # services/gateway/src/vitals_gateway/web.py -> services/gateway/web/dist
    return Path(__file__).resolve().parents[2] / "web" / "dist"


def resolve_asset(dist: Path, path: str) -> Path | None:
    """The file under `dist` that `path` names, or None (also for any path leaving `dist`)."""
    if not path or path.endswith("/"):
        return None
    root = dist.resolve()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def mount_dashboard(app: FastAPI, dist: Path | None = None) -> None:
    """Add the dashboard's catch-all route; call it after every API router is included."""
    root = dist or Path(os.environ.get(DIST_ENV) or default_dist())

    @app.get("/{path:path}", include_in_schema=False)
    async def dashboard(path: str) -> Response:
        if path.startswith(API_PREFIXES):
            return JSONResponse({"detail": "not found"}, status_code=404)
        asset = resolve_asset(root, path)
        if asset is not None:
            immutable = path.startswith("assets/")
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(asset, headers={"Cache-Control": cache})
        index = root / "index.html"
        if not index.is_file():
            return PlainTextResponse(
                "The dashboard is not built: run `make web` (needs Node.js and npm).",
                status_code=503,
            )
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
