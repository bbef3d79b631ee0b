"""The gateway serves the built dashboard: assets, the app's routes, and never over the API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from vitals_gateway.web import mount_dashboard, resolve_asset


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Vitals</title>")
    (root / "assets" / "main-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside")
    return root


def client(dist: Path) -> httpx.AsyncClient:
    app = FastAPI()

    @app.get("/admin/system/hosts")
    async def hosts() -> dict[str, list[str]]:
        return {"hosts": []}

    mount_dashboard(app, dist)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vitals")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("index.html", "index.html"),
        ("assets/main-abc123.js", "assets/main-abc123.js"),
        ("assets/missing.js", None),
        ("../secret.txt", None),
        ("assets/../../secret.txt", None),
        ("assets/", None),
        ("", None),
    ],
)
def test_resolve_asset(dist: Path, path: str, expected: str | None) -> None:
    found = resolve_asset(dist, path)
    assert (found.relative_to(dist.resolve()).as_posix() if found else None) == expected


@pytest.mark.parametrize(
    ("path", "status", "body_has", "cache"),
    [
        ("/", 200, "<title>Vitals</title>", "no-cache"),
        ("/hosts/gpu-1?tab=trends", 200, "<title>Vitals</title>", "no-cache"),
        ("/login", 200, "<title>Vitals</title>", "no-cache"),
        ("/assets/main-abc123.js", 200, "console.log", "immutable"),
        ("/admin/system/hosts", 200, '"hosts"', None),
        ("/admin/system/alerts", 404, '"not found"', None),
        ("/auth/refresh", 404, '"not found"', None),
        ("/openapi.json", 200, '"paths"', None),
        ("/%2e%2e/secret.txt", 200, "<title>Vitals</title>", "no-cache"),
    ],
)
async def test_routes(dist: Path, path: str, status: int, body_has: str, cache: str | None) -> None:
    async with client(dist) as c:
        r = await c.get(path)
    assert r.status_code == status
    assert body_has in r.text
    if cache:
        assert cache in r.headers["cache-control"]


async def test_unbuilt_dashboard_says_how_to_build_it(tmp_path: Path) -> None:
    async with client(tmp_path / "nothing") as c:
        r = await c.get("/")
    assert r.status_code == 503
    assert "make web" in r.text
