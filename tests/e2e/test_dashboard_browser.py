"""The dashboard in real headless Chromium against a running stack over real NATS and Redis.

A gateway, an agent (1 s interval) and a notifier run as processes (the alert test adds an
alerter once its pages are open); Chromium (Debian's, driven by Playwright) signs in, watches
the fleet and a host over the live stream, survives a gateway restart, sees an alert fire
without a reload and acknowledges it. Screenshots of every view go to
`test-artifacts/dashboard/`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, WebSocket, async_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import Processes, eventually, token, wait_http
from vitals_gateway.auth.authenticator import hash_password
from vitals_servers import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
WEB = REPO / "services" / "gateway" / "web"
HOST = "e2e-host"
ADMIN_PASSWORD = "e2e-admin-password"
VIEWER_PASSWORD = "e2e-viewer-password"
RULE = "e2e_memory_in_use"
# Every host uses more than 1 % of its memory: the rule fires on the first sample it reads.
CONFIG = f"""
[[auth.users]]
name = "viewer"
password_hash = "{{viewer}}"
role = "viewer"

[[alerter.rules]]
name = "{RULE}"
metric = "memory.percent"
warning = 1
select = ["host={HOST}"]
summary = "Memory at {{{{value:.0f}}}}% on {{{{host}}}}"
"""

pytestmark = pytest.mark.slow


@dataclass
class Stack:
    base: str
    env: dict[str, str]
    processes: Processes
    gateway: Any = field(default=None)

    def start_gateway(self) -> None:
        self.gateway = self.processes.service("gateway", self.env)

    def stop_gateway(self) -> None:
        self.gateway.terminate()
        self.gateway.wait(15)

    def start_alerter(self) -> None:
        self.processes.service("alerter", self.env)

    async def api(self, user: str, password: str) -> httpx.AsyncClient:
        access = await token(self.base, user, password)
        return httpx.AsyncClient(base_url=self.base, headers={"Authorization": f"Bearer {access}"})


@pytest.fixture
async def stack(service_env: dict[str, str], processes: Processes) -> Stack:
    if not (WEB / "dist" / "index.html").exists():
        pytest.fail("the dashboard is not built: run `make web`")
    port = free_port()
    env = dict(
        service_env,
        VITALS_HTTP_PORT=str(port),
        VITALS_ADMIN_PASSWORD=ADMIN_PASSWORD,
        VITALS_AGENT_INTERVAL="1",
        VITALS_AGENT_HOST=HOST,
    )
    Path(env["VITALS_CONFIG"]).write_text(CONFIG.format(viewer=hash_password(VIEWER_PASSWORD)))
    stack = Stack(f"http://127.0.0.1:{port}", env, processes)
    stack.start_gateway()
    processes.service("agent", env)
    processes.service("notifier", env)
    await wait_http(f"{stack.base}/healthz", timeout=30)
    return stack


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make system-deps`")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


class Watched:
    """A page, the errors it raised, and the live-stream frames it received."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.frames: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("websocket", self._socket)

    def _socket(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.frames.append(str(payload)))

    def metrics_frames(self) -> int:
        return sum('"kind":"metrics"' in f for f in self.frames)


@pytest.fixture
async def opened(browser: Browser) -> AsyncIterator[Callable[..., Awaitable[Watched]]]:
    """Open pages in fresh contexts; each must end without an uncaught error."""
    pages: list[Watched] = []

    async def open_page(width: int = 1400, height: int = 900) -> Watched:
        context = await browser.new_context(viewport={"width": width, "height": height})
        watched = Watched(await context.new_page())
        pages.append(watched)
        return watched

    yield open_page
    for w in pages:
        await w.page.context.close()
    assert [e for w in pages for e in w.errors] == [], "uncaught errors in the page"


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def sign_in(page: Page, base: str, user: str, password: str, path: str = "/") -> None:
    await page.goto(base + path)
    await page.fill("#username", user)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_selector("[data-testid=user]")


async def attr(page: Page, selector: str, name: str) -> str | None:
    element = await page.query_selector(selector)
    return None if element is None else await element.get_attribute(name)


async def chart_points(page: Page) -> int:
    return int(await attr(page, "[data-testid=chart-system-plot]", "data-points") or 0)


async def connection(page: Page) -> str | None:
    return await attr(page, "[data-testid=connection]", "data-state")


async def wait_until(check: Callable[[], Any], timeout: float) -> Any:
    return await eventually(check, timeout=timeout, interval=0.25)


async def until_live(page: Page, timeout: float = 20) -> None:
    async def live() -> bool:
        return await connection(page) == "live"

    await wait_until(live, timeout)


async def go(page: Page, tab: str) -> None:
    """Switch host tabs by clicking, as a person does (no reload)."""
    await page.click(f"[role=tab]:has-text('{tab}')")


async def test_sign_in_fleet_host_views_and_live_chart(
    stack: Stack, opened: Callable[..., Awaitable[Watched]]
) -> None:
    w = await opened()
    page = w.page
    await page.goto(stack.base + "/")
    await page.fill("#username", "admin")
    await page.fill("#password", "not-the-password")
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Wrong username or password.")
    await shot(page, "login")

    await sign_in(page, stack.base, "admin", ADMIN_PASSWORD)
    assert "admin" in (await page.inner_text("[data-testid=user]")).lower()
    row = f"tr[data-host={HOST}]"
    await page.wait_for_selector(row, timeout=20000)
    assert await attr(page, f"{row} [data-status]", "data-status") == "up"
    await wait_until(lambda: page.query_selector(f"{row} .spark path.line"), timeout=20)
    await until_live(page)
    await shot(page, "fleet")

    await page.click(f"{row} a")
    await page.wait_for_selector("[data-testid=card-cpu]")
    assert "%" in await page.inner_text("[data-testid=cpu-percent]")
    # The analytics panels say they are not there yet, or show what the gateway answers.
    insights = "[data-testid=card-insights]"
    await page.wait_for_selector(f"{insights} .notice, {insights} li")
    await shot(page, "host-overview")

    await go(page, "Performance Trends")
    await page.wait_for_selector("[data-testid=chart-system-plot] canvas")
    first = await chart_points(page)
    frames = w.metrics_frames()

    async def grew() -> bool:
        return await chart_points(page) >= first + 3

    # The chart gains points while we watch, without a reload, from the live stream.
    await wait_until(grew, timeout=30)
    assert await connection(page) == "live"
    assert w.metrics_frames() >= frames + 3
    await shot(page, "host-trends")

    await go(page, "Alerts & Status")
    await page.wait_for_selector("[data-testid=alerts-tab]")
    await page.wait_for_selector("[data-testid=active-alerts] .notice")
    await page.wait_for_selector("[data-testid=rules] table, [data-testid=rules] .notice")
    await shot(page, "host-alerts")

    await page.emulate_media(color_scheme="dark")
    await shot(page, "host-alerts-dark")
    await go(page, "Overview")
    await page.wait_for_selector("[data-testid=card-cpu]")
    await shot(page, "host-overview-dark")
    await go(page, "Performance Trends")
    await page.wait_for_selector("[data-testid=chart-system-plot] canvas")
    await shot(page, "host-trends-dark")

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.emulate_media(color_scheme="light")
    await shot(page, "host-trends-phone")
    await go(page, "Overview")
    await page.wait_for_selector("[data-testid=card-cpu]")
    await shot(page, "host-overview-phone")
    await page.click(".brand")
    await page.wait_for_selector(row)
    await shot(page, "fleet-phone")
    await page.emulate_media(color_scheme="dark")
    await shot(page, "fleet-phone-dark")

    await page.click("text=Sign out")
    await page.wait_for_selector("#username")


async def test_page_survives_gateway_restart(
    stack: Stack, opened: Callable[..., Awaitable[Watched]]
) -> None:
    page = (await opened()).page
    await sign_in(page, stack.base, "admin", ADMIN_PASSWORD, f"/hosts/{HOST}?tab=trends")
    await page.select_option("select[aria-label='Refresh interval']", "2000")
    await page.wait_for_selector("[data-testid=chart-system-plot] canvas", timeout=20000)

    await until_live(page)
    stack.stop_gateway()

    async def lost() -> bool:
        return await connection(page) in ("offline", "reconnecting")

    await wait_until(lost, timeout=20)
    await shot(page, "gateway-down")
    before = await chart_points(page)
    stack.start_gateway()
    await wait_http(f"{stack.base}/healthz", timeout=30)
    # Back on the live stream by itself (not merely polling), with new points.
    await until_live(page, timeout=40)

    async def grew() -> bool:
        return await chart_points(page) >= before + 2

    await wait_until(grew, timeout=30)
    # Still signed in, on the same page, with no reload.
    assert await page.query_selector("#username") is None
    assert f"/hosts/{HOST}" in page.url
    await shot(page, "gateway-back")


@pytest.mark.timeout(240)
async def test_alert_appears_live_viewer_cannot_and_admin_acknowledges(
    stack: Stack, opened: Callable[..., Awaitable[Watched]]
) -> None:
    alerts = f"/hosts/{HOST}?tab=alerts"
    alert_row = "[data-testid=active-alerts-table] tr[data-alert]"
    viewer = (await opened()).page
    admin = (await opened()).page
    # Both pages are open, live, with no alert, before the alerter starts.
    await sign_in(viewer, stack.base, "viewer", VIEWER_PASSWORD, alerts)
    await sign_in(admin, stack.base, "admin", ADMIN_PASSWORD, alerts)
    for page in (viewer, admin):
        await page.wait_for_selector("[data-testid=active-alerts] .notice", timeout=20000)
        await until_live(page)
        assert await page.query_selector(alert_row) is None
    stack.start_alerter()

    # The rule fires and the alert appears on both pages without a reload.
    await viewer.wait_for_selector(alert_row, timeout=60000)
    await admin.wait_for_selector(alert_row, timeout=30000)
    alert_id = await attr(viewer, alert_row, "data-alert")
    assert alert_id
    assert await attr(viewer, alert_row, "data-state") == "firing"
    assert await viewer.query_selector("button:has-text('Acknowledge')") is None
    await shot(viewer, "alerts-viewer")
    async with await stack.api("viewer", VIEWER_PASSWORD) as client:
        refused = await client.post(f"/admin/system/alerts/{alert_id}/acknowledge", json={})
        assert refused.status_code == 403, refused.text

    row = f"tr[data-alert='{alert_id}']"
    await admin.wait_for_selector(f"{row} button:has-text('Acknowledge')")
    await shot(admin, "alerts-admin")
    await admin.click(f"{row} button:has-text('Acknowledge')")
    await admin.fill(f"{row} input[aria-label='Acknowledgement comment']", "looking into it")
    await admin.click(f"{row} button:has-text('Confirm')")

    async def acknowledged(page: Page) -> bool:
        return await attr(page, row, "data-state") == "acknowledged"

    # The admin's page and, live, the viewer's show the new state.
    await wait_until(lambda: acknowledged(admin), timeout=30)
    await wait_until(lambda: acknowledged(viewer), timeout=30)
    assert "by admin" in await admin.inner_text(f"{row} [data-testid=alert-state]")
    await shot(admin, "alerts-acknowledged")
    await admin.set_viewport_size({"width": 390, "height": 844})
    await shot(admin, "alerts-acknowledged-phone")
    async with await stack.api("admin", ADMIN_PASSWORD) as client:
        listed = await client.get(
            "/admin/system/alerts", params={"host": HOST, "state": "acknowledged"}
        )
    [event] = [a for a in listed.json()["alerts"] if a["alert_id"] == alert_id]
    assert (event["acknowledged_by"], event["comment"]) == ("admin", "looking into it")


async def test_committed_openapi_matches_the_gateway(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base) as client:
        live = (await client.get("/openapi.json")).json()
    committed = json.loads((WEB / "openapi.json").read_text())
    assert committed == live, (
        "services/gateway/web/openapi.json is out of date with the gateway: with the gateway "
        "running (`make run`), run `npm run fetch:api && npm run gen:api` in services/gateway/web "
        "and commit the result"
    )
