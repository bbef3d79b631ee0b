"""Reminders and escalation ladders for firing alerts nobody acknowledged.

A ladder's steps count from when the alert fired. When steps fall due together (after a
silence ended, say), one `escalated` event announces the highest. An acknowledged or muted
alert neither escalates nor is reminded of.
"""

from __future__ import annotations

from typing import Literal

from msgspec.structs import replace

from vitals_alerter.alerts import AlertState
from vitals_alerter.rules import SEVERITY_RANK, Rule, Severity

Notice = Literal["escalated", "reminder"]


def steps_due(rule: Rule, state: AlertState, now: float) -> int:
    return sum(1 for step in rule.escalation if now - state.fired_at >= step.after)


def due(rule: Rule, state: AlertState, now: float) -> tuple[AlertState, tuple[Notice, ...]]:
    if state.status != "firing" or state.acked_by or state.muted:
        return state, ()
    reached = steps_due(rule, state, now)
    if reached > state.step:
        severity: Severity | None = state.step_severity
        receivers = list(state.receivers)
        for step in rule.escalation[state.step : reached]:
            if step.severity and (
                severity is None or SEVERITY_RANK[step.severity] > SEVERITY_RANK[severity]
            ):
                severity = step.severity
            receivers.extend(r for r in step.receivers if r not in receivers)
        new = replace(
            state, step=reached, step_severity=severity, receivers=receivers, notified_at=now
        )
        return new, ("escalated",)
    # Nothing new to say: remind only once the repeat interval has passed.
    if rule.repeat_interval > 0 and now - state.notified_at >= rule.repeat_interval:
        return replace(state, reminders=state.reminders + 1, notified_at=now), ("reminder",)
    return state, ()


def acknowledge(
    state: AlertState, by: str, comment: str, now: float
) -> tuple[AlertState, tuple[Literal["acknowledged"], ...]]:
    """Ack a firing alert once per episode; reminders and escalation stop until it resolves."""
    if state.status != "firing" or state.acked_by:
        return state, ()
    return replace(state, acked_by=by, acked_at=now, ack_comment=comment), ("acknowledged",)
