"""One alert's state machine: pure functions of (rule, state, sample, now).

inactive → pending → firing → resolved (back to inactive). A breach starts `pending`; it
fires once it has lasted the rule's `for`. While firing, the value's level may move between
warning and critical (`severity_changed`, the same alert); it resolves once the value has
stayed on the safe side of the clear level for `clear_for`. Levels have hysteresis: a held
level is kept until the value passes its clear level, so flapping inside the band is quiet.

Each function returns the new state (the same object when nothing changed, None for an
inactive threshold alert that has nothing to remember) and the transitions, in order.
After a `resolved`, the returned state still holds the episode so the event can be built;
`settle` then clears it.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

from msgspec.structs import replace

from vitals_alerter.alerts import AlertState, new_state
from vitals_alerter.rules import Rule, Severity
from vitals_alerter.windows import admit, derive

Transition = Literal["firing", "severity_changed", "resolved"]
Result = tuple[AlertState | None, tuple[Transition, ...]]


class Sample(NamedTuple):
    host: str
    series: str  # `name{labels}` as vitals_core.series names it
    value: float


def level_of(rule: Rule, value: float, held: Severity | None) -> Severity | None:
    """The level `value` is at, keeping a held level until the value passes its clear level."""
    # Written out (no helper calls): this runs for every rule on every sample.
    if rule.op == "below":
        value = -value
        crit = None if rule.critical is None else -rule.critical
        warn = None if rule.warning is None else -rule.warning
        crit_clear = None if rule.critical_clear is None else -rule.critical_clear
        warn_clear = None if rule.warning_clear is None else -rule.warning_clear
    else:
        crit, warn = rule.critical, rule.warning
        crit_clear, warn_clear = rule.critical_clear, rule.warning_clear
    if crit is not None and (
        value >= crit or (held == "critical" and crit_clear is not None and value >= crit_clear)
    ):
        return "critical"
    if warn is not None and (
        value >= warn or (held is not None and warn_clear is not None and value >= warn_clear)
    ):
        return "warning"
    return None


def evaluate(rule: Rule, state: AlertState | None, sample: Sample, now: float) -> Result:
    """Apply one sample of a threshold, forecast or rate rule."""
    value = sample.value
    if state is None:
        if rule.windowed:
            return _windowed(rule, state, sample, now)
        # The common case, kept short: nothing to remember and no breach (NaN is none).
        level = level_of(rule, value, None)
        if level is None:
            return None, ()
        state = new_state(rule, sample.host, sample.series)
    else:
        if state.sample_at is not None and now <= state.sample_at:
            return state, ()  # a replay or an out-of-order sample: already applied
        if math.isnan(value):
            return state, ()
        if rule.windowed:
            return _windowed(rule, state, sample, now)
        held = state.severity if state.status != "inactive" else None
        level = level_of(rule, value, held)
        state = replace(state)
    state.sample_at = state.last_seen = now
    state.value = value
    return _step(rule, state, level, now)


def _windowed(rule: Rule, state: AlertState | None, sample: Sample, now: float) -> Result:
    times, values = (state.times, state.values) if state is not None else ([], [])
    admitted = admit(rule, times, values, sample.value, now)
    if admitted is None:
        # Not a new point of the window, only a sign of life.
        return (None if state is None else replace(state, last_seen=now)), ()
    state = new_state(rule, sample.host, sample.series) if state is None else replace(state)
    state.times, state.values = admitted
    state.sample_at = state.last_seen = now
    derived = derive(rule, state.times, state.values, now)
    if derived is None:
        return state, ()
    held = state.severity if state.status != "inactive" else None
    state.value = derived
    return _step(rule, state, level_of(rule, derived, held), now)


def _step(rule: Rule, state: AlertState, level: Severity | None, now: float) -> Result:
    if state.status == "inactive":
        if level is None:
            return state, ()
        _begin(state, level, now)
    if state.status == "pending":
        return _pending(rule, state, level, now)
    return _firing(rule, state, level, now)


def _begin(state: AlertState, level: Severity, now: float) -> None:
    state.status = "pending"
    state.started_at = now
    state.severity = level
    state.crit_since = now if level == "critical" else None
    state.clear_since = None


def _pending(rule: Rule, state: AlertState, level: Severity | None, now: float) -> Result:
    if level is None:
        # The breach ended before `for`: nothing was announced, nothing to remember.
        return (_quiet(state) if rule.windowed else None), ()
    if level == "critical":
        state.crit_since = state.crit_since if state.crit_since is not None else now
    else:
        state.crit_since = None
    state.severity = level
    if now - state.started_at < rule.for_s:
        return state, ()
    sustained = state.crit_since is not None and now - state.crit_since >= rule.for_s
    state.severity = "critical" if sustained or rule.warning is None else "warning"
    state.status = "firing"
    state.fired_at = now
    state.notified_at = now
    return state, ("firing",)


def _firing(rule: Rule, state: AlertState, level: Severity | None, now: float) -> Result:
    if level is None:
        state.crit_since = None
        if state.clear_since is None:
            state.clear_since = now
        if now - state.clear_since < rule.clear_for:
            return state, ()
        state.status = "inactive"
        return state, ("resolved",)
    state.clear_since = None
    if level == "critical":
        state.crit_since = state.crit_since if state.crit_since is not None else now
        if state.severity == "warning" and now - state.crit_since >= rule.for_s:
            return _change(state, "critical", now)
        return state, ()
    state.crit_since = None
    if state.severity == "critical":
        return _change(state, "warning", now)
    return state, ()


def _change(state: AlertState, severity: Severity, now: float) -> Result:
    state.severity = severity
    state.changes += 1
    state.notified_at = now
    return state, ("severity_changed",)


def _quiet(state: AlertState) -> AlertState:
    """The state with its episode forgotten (windows and absence keep their data)."""
    return replace(
        state,
        status="inactive",
        severity="warning",
        started_at=0.0,
        fired_at=0.0,
        crit_since=None,
        clear_since=None,
        changes=0,
        reminders=0,
        mutes=0,
        notified_at=0.0,
        step=0,
        step_severity=None,
        receivers=[],
        acked_by="",
        acked_at=None,
        ack_comment="",
        silence_id="",
        inhibited_by="",
    )


def settle(rule: Rule, state: AlertState) -> AlertState | None:
    """After a `resolved` event is built: what the alert keeps remembering."""
    if state.status != "inactive":
        return state
    if rule.windowed or rule.kind == "absence":
        return _quiet(state)
    return None


# --- absence ------------------------------------------------------------------------------


def seen(
    rule: Rule, state: AlertState | None, sample: Sample, now: float, interval: float = 0.0
) -> Result:
    """A sample of an absence rule's series arrived; `interval` is what the host announced."""
    if state is not None and state.sample_at is not None and now <= state.sample_at:
        return state, ()
    state = new_state(rule, sample.host, sample.series) if state is None else replace(state)
    gap = max(0.0, now - state.last_seen) if state.last_seen else 0.0
    state.interval = rule.interval or interval or gap or state.interval
    state.last_seen = now
    state.sample_at = now
    if state.status == "firing":
        state.status = "inactive"
        return state, ("resolved",)
    return state, ()


def absent(rule: Rule, state: AlertState, now: float) -> Result:
    """At a tick: the series is down once `missed` intervals (plus `for`) passed silently."""
    if state.status == "firing" or state.interval <= 0:
        return state, ()
    deadline = state.last_seen + rule.missed * state.interval + rule.for_s
    if now < deadline:
        return state, ()
    state = replace(state)
    state.status = "firing"
    state.severity = rule.severity
    # The episode is named by the last sample, so a replayed tick gives the same ids.
    state.started_at = state.last_seen
    state.fired_at = now
    state.notified_at = now
    state.value = now - state.last_seen
    return state, ("firing",)


def stale(rule: Rule, state: AlertState, now: float) -> Result:
    """At a tick: a series that stopped arriving resolves its alert after `stale_after`."""
    if rule.kind == "absence" or state.status == "inactive":
        return state, ()
    if rule.stale_after <= 0 or now - state.last_seen < rule.stale_after:
        return state, ()
    if state.status == "pending":
        return (_quiet(state) if rule.windowed else None), ()
    state = replace(state, status="inactive")
    return state, ("resolved",)
