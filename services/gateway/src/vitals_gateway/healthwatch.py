"""What `/healthz` and the dashboard's header say: ok, degraded (with why), or unavailable.

The gateway cannot serve without NATS (the bus) or Redis (storage): 503. It can serve while
the alerter does not answer, but alerts then stop changing: degraded, still 200. The
alerter is asked (its `stats` verb, over the bus) every `gateway.health_interval` seconds
in the background, so a load balancer's probe never waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Literal

from vitals_core import control
from vitals_gateway.relay import ControlError, Relay

log = logging.getLogger("vitals.gateway.health")

BUS_DOWN = "bus unreachable (NATS)"
STORAGE_DOWN = "storage unreachable (Redis)"
ALERTER_DOWN = "alerter not answering"
# A probe never waits longer than this, whatever `gateway.control_timeout` says.
PROBE_TIMEOUT_S = 3.0

Status = Literal["ok", "degraded", "unavailable"]


@dataclass(frozen=True)
class Verdict:
    code: int
    status: Status
    reasons: list[str] = field(default_factory=list)


def verdict(bus_ok: bool, storage_ok: bool, alerter_problem: str | None) -> Verdict:
    """The answer from what was seen. The alerter is judged only while the bus is up: it is
    reached over the bus, so its silence then says nothing new."""
    reasons = []
    if not bus_ok:
        reasons.append(BUS_DOWN)
    if not storage_ok:
        reasons.append(STORAGE_DOWN)
    if reasons:
        return Verdict(503, "unavailable", reasons)
    if alerter_problem is not None:
        return Verdict(200, "degraded", [f"{ALERTER_DOWN}: {alerter_problem}"])
    return Verdict(200, "ok", [])


def alerter_problem(error: ControlError) -> str:
    """'the alerter is not running: nothing answers ...' -> 'nothing answers ...'."""
    _, sep, why = error.message.partition(": ")
    return why if sep else error.message.removeprefix(f"the {control.ALERTER} ")


class AlerterWatch:
    """Asks the alerter whether it answers, every `interval` seconds, in the background."""

    def __init__(self, relay: Relay, interval: float) -> None:
        self.relay = Relay(relay.nc, min(relay.timeout, PROBE_TIMEOUT_S))
        self.interval = interval
        # None: answering (or not asked yet: a gateway that just started is not degraded).
        self.problem: str | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="alerter-watch")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def probe(self) -> None:
        if not self.relay.nc.is_connected:
            return  # the bus is down: `verdict` says so, and the alerter cannot be asked
        try:
            await self.relay.ask(control.ALERTER, "stats", control.AlerterStats())
        except ControlError as exc:
            problem = alerter_problem(exc)
            if problem != self.problem:
                log.warning("the alerter does not answer: %s", problem)
            self.problem = problem
            return
        except Exception as exc:  # a closed connection mid-request, say
            self.problem = f"the request failed ({type(exc).__name__})"
            return
        if self.problem is not None:
            log.info("the alerter answers again")
        self.problem = None

    async def _run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.interval)
