"""The alerter's settings: rules, escalation ladders, inhibition, scale-out.

Durations are seconds or strings such as `"90s"`, `"5m"`, `"6h"`, `"2d"`. Matchers are
strings `label=value`, `label!=value`, `label=~regex` or `label!~regex` (regexes anchored).
"""

from __future__ import annotations

import math
import re
import string
from typing import Literal, TypeAlias

import msgspec

Duration: TypeAlias = float | str
RuleKind: TypeAlias = Literal["threshold", "absence", "forecast", "rate"]
Severity: TypeAlias = Literal["warning", "critical"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


def parse_duration(value: Duration, what: str = "duration") -> float:
    """Seconds in `value` (a number of seconds or `"5m"`); ValueError naming `what`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(
                f"{what} {value!r} is not a duration: use seconds or a number with "
                "ms, s, m, h, d or w (e.g. '90s', '5m', '6h')"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} must be a non-negative duration (got {value!r})")
    return seconds


def parse_matcher(text: str) -> tuple[str, str, str]:
    """`(label, op, value)` from `label=value`, `label!=value`, `label=~re` or `label!~re`."""
    match = _MATCHER.match(text)
    if match is None:
        raise ValueError(
            f"matcher {text!r} must read label=value, label!=value, label=~regex or label!~regex"
        )
    name, op, value = match.groups()
    value = value.strip("\"'")
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"matcher {text!r} has a bad regex: {exc}") from None
    return name, op, value


def check_template(template: str, what: str) -> None:
    """Fail at start on a template that cannot be filled (unbalanced braces, bad fields)."""
    try:
        for _, field, spec, _ in string.Formatter().parse(template):
            if field is None:
                continue
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field):
                raise ValueError(f"field {{{field}}} is not a plain name")
            if spec:
                format(1.5, spec)
    except ValueError as exc:
        raise ValueError(f"{what} {template!r} is not a usable template: {exc}") from None


class EscalationStep(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """After `after` unacknowledged (counted from firing), raise severity and/or add receivers."""

    after: Duration
    severity: Severity | None = None
    receivers: list[str] = []


class EscalationSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    steps: list[EscalationStep]

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"escalation {self.name!r} needs at least one step")
        previous = -1.0
        for i, step in enumerate(self.steps):
            after = parse_duration(step.after, f"escalation {self.name!r} step {i + 1} 'after'")
            if after <= previous:
                raise ValueError(
                    f"escalation {self.name!r}: step {i + 1} must come after step {i} "
                    "(each 'after' longer than the one before)"
                )
            if step.severity is None and not step.receivers:
                raise ValueError(
                    f"escalation {self.name!r}: step {i + 1} changes nothing "
                    "(give it a severity or receivers)"
                )
            previous = after


class InhibitSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """While an alert matching `source` fires, alerts matching `target` are muted when
    they share the values of every label in `equal`."""

    source: list[str]
    target: list[str]
    equal: list[str] = []

    def __post_init__(self) -> None:
        for text in (*self.source, *self.target):
            parse_matcher(text)
        if not self.source or not self.target:
            raise ValueError("an inhibit rule needs source and target matchers")


class RuleSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One alerting rule; see docs/alerter.md for each kind's fields."""

    name: str
    kind: RuleKind = "threshold"
    metric: str = ""
    select: list[str] = []
    op: Literal["above", "below"] = "above"
    warning: float | str | None = None
    critical: float | str | None = None
    for_: Duration = msgspec.field(default=0.0, name="for")
    clear: float | None = None
    clear_for: Duration = 0.0
    # absence: down after `missed` intervals without a sample, at this severity
    missed: int = 3
    severity: Severity = "critical"
    interval: Duration = 0.0
    # forecast and rate
    window: Duration = 0.0
    points: int = 30
    level: float | None = None
    direction: Literal["rising", "falling"] = "rising"
    per: Duration = 60.0
    # notification
    repeat_interval: Duration | None = None
    escalation: str = ""
    receivers: list[str] = []
    labels: dict[str, str] = {}
    summary: str = ""
    description: str = ""
    stale_after: Duration = 600.0
    enabled: bool = True

    def __post_init__(self) -> None:
        what = f"rule {self.name!r}"
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.name):
            raise ValueError(f"{what}: name must be 1-64 letters, digits, '_', '-' or '.'")
        if not self.metric:
            raise ValueError(f"{what} needs a metric (a series name such as cpu.percent)")
        if "{" in self.metric:
            raise ValueError(f"{what}: metric names the series without labels; use select")
        for text in self.select:
            parse_matcher(text)
        for field in ("for_", "clear_for", "interval", "window", "per", "stale_after"):
            parse_duration(getattr(self, field), f"{what} {field.rstrip('_')!r}")
        if self.repeat_interval is not None:
            parse_duration(self.repeat_interval, f"{what} 'repeat_interval'")
        for field in ("summary", "description"):
            check_template(getattr(self, field), f"{what} {field}")
        if not self.enabled:
            return
        if self.kind == "absence":
            if self.missed < 1:
                raise ValueError(f"{what}: missed must be at least 1")
            return
        warning, critical = self.levels()
        if warning is None and critical is None:
            raise ValueError(f"{what} needs a warning or a critical level")
        self._check_kind(what)
        self._check_order(what, warning, critical)

    def _check_kind(self, what: str) -> None:
        if self.kind in ("forecast", "rate"):
            if parse_duration(self.window) <= 0:
                raise ValueError(f"{what}: a {self.kind} rule needs a window (e.g. '1h')")
            if not 3 <= self.points <= 160:
                raise ValueError(f"{what}: points must be between 3 and 160")
        if self.kind == "forecast" and self.level is None:
            raise ValueError(f"{what}: a forecast rule needs the level it predicts reaching")
        if self.kind == "rate" and parse_duration(self.per) <= 0:
            raise ValueError(f"{what}: per must be a positive duration")

    def _check_order(self, what: str, warning: float | None, critical: float | None) -> None:
        below = self.comparison() == "below"
        if (
            warning is not None
            and critical is not None
            and ((critical > warning) if below else (critical < warning))
        ):
            side = "below" if below else "above"
            raise ValueError(
                f"{what}: with op {side!r} critical must not be less severe than warning"
            )
        first = warning if warning is not None else critical
        if (
            self.clear is not None
            and first is not None
            and (self.clear < first if below else self.clear > first)
        ):
            raise ValueError(
                f"{what}: clear {self.clear} must be on the safe side of the first level {first}"
            )

    def comparison(self) -> Literal["above", "below"]:
        """Forecasts compare the time left, which alarms when it is short."""
        return "below" if self.kind == "forecast" else self.op

    def levels(self) -> tuple[float | None, float | None]:
        """Warning and critical as numbers (forecast levels are durations)."""
        out: list[float | None] = []
        for name in ("warning", "critical"):
            value = getattr(self, name)
            if value is None:
                out.append(None)
            elif self.kind == "forecast":
                out.append(parse_duration(value, f"rule {self.name!r} {name}"))
            else:
                try:
                    out.append(float(value))
                except ValueError:
                    raise ValueError(f"rule {self.name!r}: {name} must be a number") from None
        return out[0], out[1]


class AlerterSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Warning levels of the built-in rules (the seed's ALERT_THRESHOLDS_* variables).
    cpu_warning: float = 80.0
    memory_warning: float = 85.0
    disk_warning: float = 90.0
    # Rules: the built-in ones, replaced by a rule of the same name, plus these.
    builtin_rules: bool = True
    rules: list[RuleSettings] = []
    escalations: list[EscalationSettings] = []
    inhibit: list[InhibitSettings] = []
    builtin_inhibit: bool = True
    repeat_interval: Duration = "4h"
    # Scale-out: replicas own partitions of the hosts through leases of this length.
    lease: Duration = 5.0
    # The alerter's own input is impaired (one `telemetry_pipeline_down`, absence held)
    # when this share of its hosts, and at least this many, go silent at once, when it
    # reads this far behind the stream, or when it is cut off from NATS; announced once
    # the impairment has lasted `pipeline_for`.
    pipeline_silent_share: float = 0.5
    pipeline_silent_hosts: int = 3
    pipeline_max_lag: Duration = "60s"
    pipeline_for: Duration = "5s"
    # Deprecated and ignored (ownership follows the live replicas): a warning at start.
    partitions: int = 1
    partition: int = 0
    # How often absence, reminders, escalation and silences are judged.
    tick_interval: Duration = 1.0
    # How far back a brand-new consumer starts reading telemetry.
    start_lookback: Duration = 60.0
    history_scan_limit: int = 100_000

    def __post_init__(self) -> None:
        for name in ("cpu_warning", "memory_warning", "disk_warning"):
            if not 0.0 < getattr(self, name) <= 100.0:
                raise ValueError(f"{name} must be a percentage between 0 and 100")
        for name in ("repeat_interval", "start_lookback"):
            parse_duration(getattr(self, name), name)
        if not 0.05 <= parse_duration(self.tick_interval, "tick_interval") <= 60:
            raise ValueError("tick_interval must be between 50ms and 60s")
        if not 1 <= parse_duration(self.lease, "lease") <= 60:
            raise ValueError("lease must be between 1s and 60s")
        if not 0 < self.pipeline_silent_share <= 1:
            raise ValueError("pipeline_silent_share must be a fraction above 0, at most 1")
        if self.pipeline_silent_hosts < 1:
            raise ValueError("pipeline_silent_hosts must be at least 1")
        for name in ("pipeline_max_lag", "pipeline_for"):
            parse_duration(getattr(self, name), name)
        if not 1 <= self.partitions <= 64:
            raise ValueError("partitions must be between 1 and 64")
        if not 0 <= self.partition < self.partitions:
            raise ValueError(
                f"partition must be between 0 and partitions - 1 ({self.partitions - 1})"
            )
        if self.history_scan_limit < 1:
            raise ValueError("history_scan_limit must be positive")
        _unique("rule", [r.name for r in self.rules])
        ladders = [e.name for e in self.escalations]
        _unique("escalation", ladders)
        for rule in self.rules:
            if rule.escalation and rule.escalation not in ladders:
                raise ValueError(
                    f"rule {rule.name!r} names escalation {rule.escalation!r}, which is not "
                    f"defined (defined: {', '.join(ladders) or 'none'})"
                )


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name!r} is defined twice")
        seen.add(name)
