"""The sliding windows of forecast and rate rules, and the value each rule derives from one.

A window keeps one point per slot (`window / points` seconds): the fit runs only when a
slot closes, which bounds both the CPU a fit costs and how often the state changes.
"""

from __future__ import annotations

import math

from vitals_alerter.rules import Rule
from vitals_core.forecast import theil_sen, time_to_level


def slot(rule: Rule) -> float:
    return rule.window / rule.points


def admit(
    rule: Rule, times: list[float], values: list[float], value: float, now: float
) -> tuple[list[float], list[float]] | None:
    """The window with the sample added, or None when its slot already has a point."""
    if times and now - times[-1] < slot(rule) - 1e-9:
        return None
    cutoff = now - rule.window
    start = 0
    while start < len(times) and times[start] < cutoff:
        start += 1
    return [*times[start:], now], [*values[start:], value]


def min_points(rule: Rule) -> int:
    """A fit needs the window at least a third full (and three points)."""
    return max(3, rule.points // 3)


def derive(rule: Rule, times: list[float], values: list[float], now: float) -> float | None:
    """The value a windowed rule compares: seconds left (forecast) or change per `per` (rate).

    None when the window is too empty to say.
    """
    if len(times) < min_points(rule):
        return None
    if rule.kind == "rate":
        fit = theil_sen(times, values)
        return None if fit is None else fit.slope * rule.per
    assert rule.level is not None
    forecast = time_to_level(times, values, rule.level, now, rule.direction)
    if forecast.status == "insufficient_data":
        return None
    if forecast.status == "not_exhausting" or forecast.eta is None:
        return math.inf
    return forecast.eta
