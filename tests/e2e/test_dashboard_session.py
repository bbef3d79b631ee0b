"""The dashboard keeps its session across a reload and a new tab (real Chromium, real stack),
signs every tab out together, labels binary sizes as GiB/MiB, and says "Degraded" in its
header while the alerter does not answer."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.e2e.test_dashboard_browser import (
    ADMIN_PASSWORD,
    HOST,
    Stack,
    Watched,
    browser,
    opened,
    shot,
    sign_in,
    stack,
)
from tests.helpers import eventually, wait_http

__all__ = ["browser", "opened", "stack"]

pytestmark = pytest.mark.slow


async def test_a_reload_and_a_new_tab_stay_signed_in_and_sign_out_ends_every_tab(
    stack: Stack, opened: Callable[..., Awaitable[Watched]]
) -> None:
    page = (await opened()).page
    here = f"/hosts/{HOST}?tab=overview"
    await sign_in(page, stack.base, "admin", ADMIN_PASSWORD, here)
    [cookie] = [c for c in await page.context.cookies() if c["name"] == "vitals_refresh"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/auth"
    # Not readable by the page's scripts.
    assert "vitals_refresh" not in await page.evaluate("document.cookie")

    # Binary sizes say so: the host's memory reads in GiB, never "GB".
    await page.wait_for_selector("text=/\\d GiB/", timeout=20000)
    text = await page.inner_text("main")
    assert not re.search(r"\d (K|M|G|T)B\b", text), "a binary size labelled as decimal"

    await page.reload()
    await page.wait_for_selector("[data-testid=user]", timeout=15000)
    assert await page.query_selector("#username") is None
    assert page.url.endswith(here)  # the same page, not the login page or the fleet
    assert "admin" in (await page.inner_text("[data-testid=user]")).lower()

    tab = await page.context.new_page()
    await tab.goto(stack.base + "/")
    await tab.wait_for_selector("[data-testid=user]", timeout=15000)
    assert await tab.query_selector("#username") is None
    await shot(tab, "session-new-tab")

    # Signing out in the new tab signs the first one out too, and a reload stays out.
    await tab.click("[data-testid=user] button:has-text('Sign out')")
    await tab.wait_for_selector("#username", timeout=15000)
    await page.wait_for_selector("#username", timeout=15000)
    assert [c for c in await page.context.cookies() if c["name"] == "vitals_refresh"] == []
    await page.reload()
    await page.wait_for_selector("#username", timeout=15000)
    await tab.close()


async def test_the_header_says_degraded_while_the_alerter_does_not_answer(
    stack: Stack, opened: Callable[..., Awaitable[Watched]]
) -> None:
    # The gateway checks the alerter every second here (10 s by default).
    stack.stop_gateway()
    stack.env["VITALS_GATEWAY_HEALTH_INTERVAL"] = "1"
    stack.start_gateway()
    await wait_http(f"{stack.base}/healthz", timeout=30)
    page = (await opened()).page
    await sign_in(page, stack.base, "admin", ADMIN_PASSWORD)
    connection = "[data-testid=connection]"
    # "Connecting…" while the live stream opens, whatever the health; then the reason.
    said = page.locator(connection, has_text="Degraded: alerter not answering")
    await said.wait_for(timeout=20000)
    assert await said.get_attribute("data-health") == "degraded"
    await shot(page, "header-degraded")

    stack.start_alerter()

    async def answers() -> bool:
        async with httpx.AsyncClient(base_url=stack.base) as c:
            status: str = (await c.get("/healthz")).json()["status"]
            return status == "ok"

    await eventually(answers, timeout=30, interval=0.5)
    await page.reload()  # the session survives; the header asks /healthz at once
    await page.wait_for_selector(f"{connection}[data-health=ok]", timeout=20000)
    await page.wait_for_selector(f"{connection}[data-state=live]", timeout=20000)
    assert await page.inner_text(connection) == "Live"
