"""One alert's state, its stable id, and the events that announce its transitions."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Literal

import msgspec

from vitals_alerter.rules import HOST_SERIES, SEVERITY_RANK, Rule, Severity
from vitals_core.events import AlertEvent, AlertKind
from vitals_core.series import parse_series

Status = Literal["inactive", "pending", "firing"]


class AlertState(msgspec.Struct, kw_only=True):
    """Everything the engine remembers about one alert (rule × host × series)."""

    alert_id: str
    rule: str
    host: str
    series: str
    labels: dict[str, str]
    status: Status = "inactive"
    severity: Severity = "warning"  # from the value; escalation may raise what is announced
    started_at: float = 0.0  # the episode's start: when the breach began (ids derive from it)
    fired_at: float = 0.0
    crit_since: float | None = None
    clear_since: float | None = None
    value: float | None = None
    # Samples not newer than this are replays: skipped. None before the first sample (not
    # -inf: JSON has no infinity, and a state written with `null` could not be read back).
    sample_at: float | None = None
    last_seen: float = 0.0  # the series' last sign of life (absence, staleness)
    # Per-episode counters: each event kind numbers its own events, so ids are stable.
    changes: int = 0
    reminders: int = 0
    mutes: int = 0
    notified_at: float = 0.0
    step: int = 0
    step_severity: Severity | None = None
    receivers: list[str] = []
    acked_by: str = ""
    acked_at: float | None = None
    ack_comment: str = ""
    silence_id: str = ""
    inhibited_by: str = ""
    interval: float = 0.0  # absence: the series' interval
    # forecast and rate: the window, one point per slot
    times: list[float] = []
    values: list[float] = []

    @property
    def muted(self) -> bool:
        return bool(self.silence_id or self.inhibited_by)

    @property
    def announced_severity(self) -> Severity:
        if self.step_severity and SEVERITY_RANK[self.step_severity] > SEVERITY_RANK[self.severity]:
            return self.step_severity
        return self.severity

    def alert_labels(self) -> dict[str, str]:
        """Labels as silences and inhibition see them (with the announced severity)."""
        return {**self.labels, "severity": self.announced_severity}


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """Stable id of an alert: the rule and its sorted labels."""
    text = "\x1f".join([rule, *(f"{k}={v}" for k, v in sorted(labels.items()))])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def event_id(alert_id: str, episode: float, kind: str, n: int) -> str:
    """Unique per transition and the same when a replay repeats it (the JetStream msg id)."""
    text = f"{alert_id}|{episode!r}|{kind}|{n}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def new_state(rule: Rule, host: str, series: str) -> AlertState:
    _name, series_labels = parse_series(series)
    labels = {**dict(rule.labels), **series_labels, "host": host, "rule": rule.name}
    return AlertState(
        alert_id=fingerprint(rule.name, labels),
        rule=rule.name,
        host=host,
        series=series,
        labels=labels,
    )


def threshold_of(rule: Rule, severity: Severity) -> float | None:
    return rule.critical if severity == "critical" else rule.warning


def _counter(state: AlertState, kind: AlertKind) -> int:
    if kind == "severity_changed":
        return state.changes
    if kind == "reminder":
        return state.reminders
    if kind == "escalated":
        return state.step
    if kind in ("silenced", "unsilenced"):
        return state.mutes
    return 0


def build_event(rule: Rule, state: AlertState, kind: AlertKind, now: float) -> AlertEvent:
    severity = state.announced_severity
    summary, description = annotate(rule, state, severity, now)
    resolved = kind == "resolved"
    return AlertEvent(
        ts=now,
        id=event_id(state.alert_id, state.started_at, kind, _counter(state, kind)),
        alert_id=state.alert_id,
        event=kind,
        rule=rule.name,
        host=state.host,
        severity=severity,
        labels=state.labels,
        summary=summary,
        description=description,
        metric=state.series,
        value=_finite(state.value),
        threshold=None if rule.kind == "absence" else threshold_of(rule, state.severity),
        started_at=state.fired_at or state.started_at,
        resolved_at=now if resolved else None,
        acknowledged_by=state.acked_by,
        acknowledged_at=state.acked_at,
        comment=state.ack_comment,
        escalation_step=state.step,
        receivers=sorted({*rule.receivers, *state.receivers}),
        silence_id=state.silence_id,
        inhibited_by=state.inhibited_by,
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class _Blank:
    """What a template gets for a field it names but the alert lacks."""

    def __format__(self, spec: str) -> str:
        return ""


class _Fields(dict[str, object]):
    def __missing__(self, key: str) -> object:
        return _Blank()


def human(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "never"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            amount = seconds / size
            return (
                f"{amount:.0f}{unit}"
                if amount >= 10 or amount.is_integer()
                else f"{amount:.1f}{unit}"
            )
    return f"{seconds:.0f}s"


DEFAULT_TEMPLATES = {
    "threshold": (
        "{rule}: {series} {value:.4g} on {host}",
        "{series} on {host} is {value:.4g}, {op} the {severity} level {threshold:.4g}.",
    ),
    "absence": (
        "{rule}: {series} silent on {host}",
        "No {series} from {host} for {silent} ({missed} missed intervals).",
    ),
    "forecast": (
        "{rule}: {series} reaches {level:.4g} in {eta} on {host}",
        "At its trend over the last {window}, {series} on {host} reaches {level:.4g} "
        "in about {eta}.",
    ),
    "rate": (
        "{rule}: {series} changes {value:+.4g} per {per} on {host}",
        "{series} on {host} changes by {value:+.4g} per {per} over the last {window}, "
        "{op} the {severity} level {threshold:.4g}.",
    ),
}  # fmt: skip


def annotate(rule: Rule, state: AlertState, severity: Severity, now: float) -> tuple[str, str]:
    series = "metrics" if state.series == HOST_SERIES else state.series
    value = _finite(state.value)
    fields = _Fields(state.labels)
    fields.update(
        rule=rule.name,
        host=state.host,
        metric=rule.metric,
        series=series,
        severity=severity,
        op=rule.op,
        value=_Blank() if value is None else value,
        threshold=_blank_if_none(threshold_of(rule, state.severity)),
        level=_blank_if_none(rule.level),
        eta=human(state.value) if rule.kind == "forecast" else _Blank(),
        window=human(rule.window),
        per=human(rule.per),
        missed=rule.missed,
        silent=human(now - state.last_seen) if state.last_seen else _Blank(),
    )
    fields["for"] = human(rule.for_s)
    default_summary, default_description = DEFAULT_TEMPLATES[rule.kind]
    return (
        _fill(rule.summary or default_summary, fields),
        _fill(rule.description or default_description, fields),
    )


def _blank_if_none(value: float | None) -> object:
    return _Blank() if value is None else value


def _fill(template: str, fields: _Fields) -> str:
    try:
        return template.format_map(fields)
    except (ValueError, TypeError):
        # A numeric format on a label that holds text: show the template unfilled.
        return template
