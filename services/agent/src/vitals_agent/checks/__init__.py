"""Service checks: one module per kind, each an `async def check(settings) -> Outcome`.

`run_check` adds what every kind shares: the timeout, the latency, a failure reason with
secrets removed, and the `CheckResult` event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from vitals_agent.checks import command, http, process, redis, sql, tcp
from vitals_agent.checks.outcome import Outcome, describe
from vitals_agent.redact import redact_text
from vitals_core.events import CheckResult
from vitals_core.settings import CheckSettings

MAX_REASON = 300

RUNNERS: dict[str, Callable[[CheckSettings], Awaitable[Outcome]]] = {
    "http": http.check,
    "tcp": tcp.check,
    "process": process.check,
    "redis": redis.check,
    "sql": sql.check,
    "command": command.check,
}


async def run_check(check: CheckSettings, host: str) -> CheckResult:
    started = time.time()
    t0 = time.perf_counter()
    try:
        outcome = await asyncio.wait_for(RUNNERS[check.kind](check), check.timeout)
    except TimeoutError:
        outcome = Outcome(False, f"no answer within {check.timeout:g}s")
    except Exception as exc:
        outcome = Outcome(False, describe(exc))
    latency_ms = (time.perf_counter() - t0) * 1000
    reason = redact_text(outcome.reason)
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return CheckResult(
        ts=started,
        host=host,
        check=check.name,
        check_kind=check.kind,
        ok=outcome.ok,
        latency_ms=round(latency_ms, 3),
        reason=reason,
        status_code=outcome.status_code,
        group=check.group,
    )


__all__ = ["RUNNERS", "Outcome", "run_check"]
