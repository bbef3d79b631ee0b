"""The alerter's watch over its own input: the shell around `health` that the loop asks
at every tick, and a small task that notes interruptions as they happen.

The loop may be blocked on the bus (a publish or a KV write retrying) for the whole of an
outage and tick again only after it; the task runs meanwhile and notes a disconnection or
a loop that does not come round, so the first tick after the outage still knows of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from msgspec.structs import replace

from vitals_alerter.alerts import AlertState, build_event, new_state
from vitals_alerter.counters import Counters
from vitals_alerter.health import (
    HEALTHY,
    PIPELINE_HOST,
    PIPELINE_RULE,
    Episode,
    HealthSettings,
    Observed,
    announce,
    judge,
)
from vitals_core.events import AlertEvent
from vitals_core.settings.alerter import AlerterSettings, parse_duration

log = logging.getLogger("vitals.alerter")

# The loop not coming round for this long (blocked on the bus) counts as an interruption;
# as long as a KV write's timeout, so that one slow write is not one.
STALLED_S = 5.0
WATCH_EVERY_S = 0.1


class InputWatch:
    def __init__(
        self,
        settings: AlerterSettings,
        connected: Callable[[], bool],
        bus_time: Callable[[], float],
        counters: Counters,
    ) -> None:
        self.cfg = HealthSettings(
            silent_share=settings.pipeline_silent_share,
            silent_hosts=settings.pipeline_silent_hosts,
            max_lag_s=parse_duration(settings.pipeline_max_lag),
        )
        self.for_s = parse_duration(settings.pipeline_for)
        self.connected = connected
        self.bus_time = bus_time
        self.counters = counters
        self.health = HEALTHY
        self.alert: AlertState | None = None  # the pipeline alert this replica announced
        self.loop_alive: float | None = None  # when the loop last came round (monotonic)
        self._episode: Episode | None = None
        self._interrupted: tuple[float, str] | None = None
        self._fetch_failing_since: float | None = None

    def fetched(self, ok: bool) -> None:
        if ok:
            self._fetch_failing_since = None
        elif self._fetch_failing_since is None:
            self._fetch_failing_since = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        """Note a disconnection or a stalled loop as it happens."""
        while not stop.is_set():
            alive = self.loop_alive
            if not self.connected():
                reason = "the alerter was disconnected from NATS"
            elif alive is not None and time.monotonic() - alive > STALLED_S:
                reason = f"the alerter's loop stalled for more than {STALLED_S:.0f}s"
            else:
                reason = ""
            if reason and self._interrupted is None:
                self._interrupted = (self.bus_time(), reason)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_EVERY_S)

    def judge(
        self, lag_s: float, silence: Mapping[str, float], read_to: float | None = None
    ) -> bool:
        """Judge the input now; True when it has just become healthy again."""
        failing = self._fetch_failing_since
        at, interrupted = self._interrupted or (None, "")
        self._interrupted = None
        seen = Observed(
            connected=self.connected(),
            interrupted=interrupted,
            interrupted_at=at,
            fetch_failing_s=0.0 if failing is None else time.monotonic() - failing,
            lag_s=lag_s,
            silence=silence,
            read_to=read_to,
        )
        was = self.health
        # Timed on the bus's clock, not at the stream's horizon, which jumps.
        self.health = judge(was, seen, self.bus_time(), self.cfg)
        if self.health.impaired and not was.impaired:
            self.counters.inc("pipeline_impaired")
            log.warning("telemetry input impaired (%s): host absence is held", self.health.reason)
        elif was.impaired and not self.health.impaired:
            log.warning("telemetry input healthy again: absence is judged afresh from now")
            return True
        return False

    def announce(self, owner: bool) -> tuple[list[AlertEvent], list[AlertState], list[str]]:
        """The pipeline alert's event due now, if any, with the state to save or delete.
        Only the `owner` of the pseudo-host's partition announces."""
        now = self.bus_time()
        episode, kind = announce(
            self._episode, self.alert is not None, self.health, now, self.for_s
        )
        self._episode = episode
        if not kind:
            return [], [], []
        if not owner:
            # A firing is asked for again at the next tick; it is announced if this
            # replica owns the partition again soon enough (after a reconnect, say). A
            # resolve is left to the partition's owner, which resolves what it finds saved.
            if kind == "resolved":
                self.alert = None
            return [], [], []
        puts: list[AlertState] = []
        deletes: list[str] = []
        if kind == "firing":
            assert episode is not None
            state = new_state(PIPELINE_RULE, PIPELINE_HOST, PIPELINE_RULE.metric)
            state.status, state.severity = "firing", "critical"
            state.started_at, state.fired_at, state.last_seen = episode.since, now, now
            self.alert = state
            puts.append(state)
        else:
            assert self.alert is not None
            state = replace(self.alert, status="inactive")
            self.alert = None
            deletes.append(state.alert_id)
        event = build_event(PIPELINE_RULE, state, kind, now)
        reason = episode.reason if episode is not None else "the telemetry input is healthy again"
        return [replace(event, description=reason)], puts, deletes
