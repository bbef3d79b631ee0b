"""HTTP(S): the status (2xx/3xx, or the one expected) and, optionally, a text in the body."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

from vitals_agent import __version__
from vitals_agent.checks.outcome import Outcome
from vitals_core.settings import CheckSettings

MAX_BODY = 1 << 20


async def check(c: CheckSettings) -> Outcome:
    return await asyncio.to_thread(fetch, c.target, c.timeout, c.expect_status, c.expect_text)


def fetch(url: str, timeout: float, expect_status: int, expect_text: str) -> Outcome:
    if not url.startswith(("http://", "https://")):
        return Outcome(False, "the target is not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, headers={"User-Agent": f"vitals-agent/{__version__}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = int(response.status)
            body = response.read(MAX_BODY) if expect_text else b""
    except urllib.error.HTTPError as exc:
        status = exc.code
        body = exc.read(MAX_BODY) if expect_text else b""
        exc.close()
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise reason if isinstance(reason, OSError) else OSError(str(reason)) from None
    ok = status == expect_status if expect_status else 200 <= status < 400
    if not ok:
        wanted = str(expect_status) if expect_status else "2xx or 3xx"
        return Outcome(False, f"status {status} (expected {wanted})", status)
    if expect_text and expect_text not in body.decode("utf-8", "replace"):
        return Outcome(False, f"the page does not contain {expect_text!r}", status)
    return Outcome(True, "", status)
