"""The alerter's judgement of its own input, and what it holds while that is impaired."""

from __future__ import annotations

from typing import Any

import pytest

from vitals_alerter.evaluator import Evaluator
from vitals_alerter.health import (
    HEALTHY,
    Episode,
    Health,
    HealthSettings,
    Observed,
    announce,
    judge,
)
from vitals_alerter.rules import HOST_SERIES, compile_rule
from vitals_core.settings.alerter import RuleSettings

CFG = HealthSettings(silent_share=0.5, silent_hosts=3, max_lag_s=60.0, window_s=60.0)
OK = {"a": -1.0, "b": -2.0, "c": -0.5, "d": -3.0}


@pytest.mark.parametrize(
    ("seen", "reason"),
    [
        (Observed(silence=OK), ""),
        (Observed(connected=False, silence=OK), "disconnected from NATS"),
        (Observed(fetch_failing_s=1.0, silence=OK), ""),
        (Observed(fetch_failing_s=3.0, silence=OK), "fetching telemetry has failed for 3s"),
        (Observed(lag_s=59.0, silence=OK), ""),
        (Observed(lag_s=90.0, silence=OK), "90s behind the stream"),
        (Observed(silence={**OK, "a": 1, "b": 2, "c": 0}), "3 of 4 hosts went silent at once"),
        (Observed(silence={**OK, "a": 1, "b": 2}), ""),  # 2 hosts: fewer than 3
        (Observed(silence={"a": 1, "b": 2}), ""),  # all of them, but only 2
        (Observed(silence={f"h{i}": (1.0 if i < 3 else -1.0) for i in range(10)}), ""),  # 30 %
        # Long gone (past the window) is down, not part of a silence now: 3 of 3 known.
        (Observed(silence={"a": 1, "b": 2, "c": 3, "old": 500}), "3 of 3 hosts"),
        (Observed(silence={"a": 1, "b": 2, "old1": 500, "old2": 900}), ""),
        (Observed(), ""),  # no hosts at all
        # Cut off and back again between two looks: judged impaired at this one.
        (Observed(interrupted="the alerter was disconnected", silence=OK), "was disconnected"),
    ],
)
def test_judge_a_fresh_look(seen: Observed, reason: str) -> None:
    health = judge(HEALTHY, seen, 100.0, CFG)
    assert reason in health.reason
    assert health.impaired == bool(reason)
    if reason:
        assert health.since == 100.0


def test_an_interruption_between_looks_starts_when_it_began() -> None:
    seen = Observed(interrupted="the loop stalled", interrupted_at=80.0, silence=OK)
    health = judge(HEALTHY, seen, 100.0, CFG)
    assert (health.since, health.reason) == (80.0, "the loop stalled")
    assert judge(health, Observed(silence=OK), 100.2, CFG) == HEALTHY


def test_an_impairment_keeps_its_start_and_the_hosts_known_then() -> None:
    first = judge(HEALTHY, Observed(connected=False, silence=OK), 100.0, CFG)
    assert first.hosts == frozenset(OK)
    # Back on the bus, but every host is silent until its agent resends: still impaired.
    silent = dict.fromkeys(OK, 5.0)
    later = judge(first, Observed(silence=silent), 130.0, CFG)
    assert later.since == 100.0
    assert "4 of 4 hosts" in later.reason
    # Two of the four resent: below half silent, over.
    half = {**silent, "a": -1.0, "b": -1.0, "c": -1.0}
    assert judge(later, Observed(silence=half), 135.0, CFG) == HEALTHY
    # Hosts whose partition moved away do not count.
    moved = {"a": 5.0, "b": 5.0, "c": 5.0}
    assert judge(later, Observed(silence=moved), 135.0, CFG).impaired


def impaired(since: float) -> Health:
    return Health(since, "the alerter is disconnected from NATS")


@pytest.mark.parametrize(
    ("episode", "firing", "health", "now", "kind", "left"),
    [
        (None, False, HEALTHY, 10.0, "", None),
        (None, False, impaired(10.0), 10.0, "", "open"),  # not yet `for`
        (Episode(10.0, "x"), False, impaired(10.0), 14.0, "", "open"),
        (Episode(10.0, "x"), False, impaired(10.0), 15.0, "firing", "open"),
        (Episode(10.0, "x"), True, impaired(10.0), 20.0, "", "open"),
        (Episode(10.0, "x"), True, HEALTHY, 30.0, "resolved", None),
        (Episode(10.0, "x"), False, HEALTHY, 12.0, "", None),  # too short: never announced
        # Ended before it could be announced: fire now, resolve at the next look.
        (Episode(10.0, "x", ended=40.0), False, HEALTHY, 50.0, "firing", "ended"),
        (Episode(10.0, "x", ended=40.0), True, HEALTHY, 51.0, "resolved", None),
        # Ended long ago and never announced here: someone else did, or nobody could.
        (Episode(10.0, "x", ended=40.0), False, HEALTHY, 71.0, "", None),
        # Impaired again before the resolve went out: the same episode goes on.
        (Episode(10.0, "x", ended=40.0), True, impaired(45.0), 50.0, "", "open"),
    ],
)
def test_announce(
    episode: Episode | None, firing: bool, health: Health, now: float, kind: str, left: Any
) -> None:
    after, got = announce(episode, firing, health, now, 5.0)
    assert got == kind
    if left is None:
        assert after is None
    else:
        assert after is not None
        assert (after.ended is None) == (left == "open")


def host_down() -> Any:
    settings = RuleSettings(name="host_down", kind="absence", metric=HOST_SERIES, missed=3)
    return compile_rule(settings, {}, 0.0)


def test_absence_is_held_while_impaired_and_judged_afresh_after() -> None:
    ev = Evaluator([host_down()])
    out: list[Any] = []
    for t in (1.0, 2.0, 3.0):
        ev.observe_point("up", HOST_SERIES, 1.0, t, out)
        ev.observe_point("stops", HOST_SERIES, 1.0, t, out)
    assert ev.host_silence(4.0) == {"up": -2.0, "stops": -2.0}
    # The bus is away from t=3 to t=30: silence proves nothing.
    for t in (10.0, 20.0, 30.0):
        out.extend(ev.tick(t, hold=True))
    assert out == []
    ev.excuse_silence(30.0)
    # "up" resends what it buffered and goes on; "stops" never comes back.
    for t in (31.0, 32.0):
        ev.observe_point("up", HOST_SERIES, 1.0, t, out)
        out.extend(ev.tick(t))
    assert out == []
    # Three missed intervals after the input returned: down, on time.
    ev.observe_point("up", HOST_SERIES, 1.0, 33.0, out)
    assert [(e.host, e.event) for e in ev.tick(33.0)] == [("stops", "firing")]
