"""Rules as the engine uses them: compiled from the settings, built-in defaults, selectors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from vitals_core.settings import AlerterSettings
from vitals_core.settings.alerter import (
    EscalationSettings,
    InhibitSettings,
    RuleKind,
    RuleSettings,
    parse_duration,
    parse_matcher,
)

Severity = Literal["warning", "critical"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
# The pseudo-series an absence rule names to mean "any metrics sample of the host".
HOST_SERIES = "host"


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: str
    value: str
    regex: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, text: str) -> Matcher:
        name, op, value = parse_matcher(text)
        regex = re.compile(value) if op in ("=~", "!~") else None
        return cls(name, op, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.name, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        assert self.regex is not None
        found = self.regex.fullmatch(got) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def matches_all(matchers: tuple[Matcher, ...], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


@dataclass(frozen=True, slots=True)
class Step:
    after: float
    severity: Severity | None
    receivers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule; durations in seconds."""

    name: str
    kind: RuleKind
    metric: str
    op: Literal["above", "below"] = "above"
    warning: float | None = None
    critical: float | None = None
    for_s: float = 0.0
    clear: float | None = None
    clear_for: float = 0.0
    select: tuple[Matcher, ...] = ()
    missed: int = 3
    severity: Severity = "critical"
    interval: float = 0.0
    window: float = 0.0
    points: int = 30
    level: float | None = None
    direction: Literal["rising", "falling"] = "rising"
    per: float = 60.0
    repeat_interval: float = 0.0
    escalation: tuple[Step, ...] = ()
    receivers: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    summary: str = ""
    description: str = ""
    stale_after: float = 600.0
    builtin: bool = False
    # Derived: hysteresis levels, filled in __post_init__.
    warning_clear: float | None = field(default=None, init=False)
    critical_clear: float | None = field(default=None, init=False)
    windowed: bool = field(default=False, init=False)  # forecast and rate keep a window

    def __post_init__(self) -> None:
        object.__setattr__(self, "windowed", self.kind in ("forecast", "rate"))
        first = self.warning if self.warning is not None else self.critical
        clear = self.clear if self.clear is not None else first
        band = 0.0 if first is None or clear is None else abs(first - clear)
        sign = -1.0 if self.op == "above" else 1.0
        object.__setattr__(self, "warning_clear", None if self.warning is None else clear)
        if self.critical is not None:
            crit_clear = self.critical + sign * band
            if self.warning is None:
                crit_clear = clear if clear is not None else self.critical
            object.__setattr__(self, "critical_clear", crit_clear)

    def selects(self, labels: Mapping[str, str]) -> bool:
        return not self.select or matches_all(self.select, labels)

    def describe(self) -> dict[str, object]:
        """The rule as `rule_list` shows it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "metric": self.metric,
            "select": [str(m) for m in self.select],
            "op": self.op,
            "warning": self.warning,
            "critical": self.critical,
            "for": self.for_s,
            "clear": self.clear,
            "clear_for": self.clear_for,
            "missed": self.missed if self.kind == "absence" else None,
            "severity": self.severity if self.kind == "absence" else None,
            "window": self.window or None,
            "level": self.level,
            "per": self.per if self.kind == "rate" else None,
            "repeat_interval": self.repeat_interval,
            "escalation": [
                {"after": s.after, "severity": s.severity, "receivers": list(s.receivers)}
                for s in self.escalation
            ],
            "receivers": list(self.receivers),
            "labels": dict(self.labels),
            "summary": self.summary,
            "description": self.description,
            "builtin": self.builtin,
        }


def builtin_rules(settings: AlerterSettings) -> list[RuleSettings]:
    """The seed's defaults; a configured rule of the same name replaces one."""

    def threshold(
        name: str, metric: str, warning: float | None, critical: float | None, **kw: Any
    ) -> RuleSettings:
        return RuleSettings(name=name, metric=metric, warning=warning, critical=critical, **kw)

    return [
        threshold(
            "cpu_high", "cpu.percent", settings.cpu_warning, max(90.0, settings.cpu_warning),
            for_="2m", clear=settings.cpu_warning - 5,
            summary="CPU at {value:.0f}% on {host}",
            description="CPU use on {host} is {value:.1f}% (threshold {threshold:.0f}%).",
        ),
        threshold(
            "memory_high", "memory.percent", settings.memory_warning,
            max(95.0, settings.memory_warning), for_="2m", clear=settings.memory_warning - 5,
            summary="Memory at {value:.0f}% on {host}",
            description="Memory use on {host} is {value:.1f}% (threshold {threshold:.0f}%).",
        ),
        threshold(
            "disk_full", "disk.percent", settings.disk_warning, max(95.0, settings.disk_warning),
            for_="1m", clear=settings.disk_warning - 2,
            summary="Disk {mount} at {value:.0f}% on {host}",
            description="Disk {mount} on {host} is {value:.1f}% full (threshold {threshold:.0f}%).",
        ),
        threshold(
            "response_time_high", "app.response_ms.p95", 2000.0, None, for_="2m",
            summary="{app} p95 response time {value:.0f} ms on {host}",
            description="{app} on {host} answers in {value:.0f} ms at p95 "
            "(threshold {threshold:.0f} ms).",
        ),
        threshold(
            "error_rate_high", "app.error_rate", 0.05, None, for_="2m",
            summary="{app} error rate {value:.1%} on {host}",
            description="{app} on {host} fails {value:.1%} of requests "
            "(threshold {threshold:.0%}).",
        ),
        threshold(
            "queue_size_high", "app.queue_size", 1000.0, None, for_="2m",
            summary="{app} queue at {value:.0f} on {host}",
            description="{app} on {host} has {value:.0f} jobs waiting (threshold {threshold:.0f}).",
        ),
        threshold(
            "check_failed", "check.up", None, 0.0, op="below", for_="1m",
            summary="Check {check} failing on {host}",
            description="The {check} check on {host} has failed for {for}.",
        ),
        # 3 missed intervals, and 15 s more: longer than a NATS node's failover (a stream
        # leader election takes up to ~12 s, docs/cluster.md), which is not a host down.
        RuleSettings(
            name="host_down", kind="absence", metric=HOST_SERIES, missed=3, for_=15.0,
            summary="{host} is down",
            description="{host} has not reported for {silent} ({missed} missed intervals).",
        ),
    ]  # fmt: skip


def compile_rules(settings: AlerterSettings) -> list[Rule]:
    """Built-ins (unless switched off) replaced by name by configured rules, then the rest."""
    ladders = {e.name: _ladder(e) for e in settings.escalations}
    repeat = parse_duration(settings.repeat_interval)
    configured = {r.name: r for r in settings.rules}
    out: list[Rule] = []
    if settings.builtin_rules:
        for rule in builtin_rules(settings):
            chosen = configured.pop(rule.name, rule)
            if chosen.enabled:
                out.append(compile_rule(chosen, ladders, repeat, builtin=chosen is rule))
    out.extend(compile_rule(r, ladders, repeat) for r in configured.values() if r.enabled)
    return out


def compile_rule(
    rs: RuleSettings,
    ladders: Mapping[str, tuple[Step, ...]],
    default_repeat: float,
    builtin: bool = False,
) -> Rule:
    warning, critical = rs.levels()
    repeat = default_repeat if rs.repeat_interval is None else parse_duration(rs.repeat_interval)
    return Rule(
        name=rs.name,
        kind=rs.kind,
        metric=rs.metric,
        op=rs.comparison(),
        warning=warning,
        critical=critical,
        for_s=parse_duration(rs.for_),
        clear=rs.clear,
        clear_for=parse_duration(rs.clear_for),
        select=tuple(Matcher.parse(m) for m in rs.select),
        missed=rs.missed,
        severity=rs.severity,
        interval=parse_duration(rs.interval),
        window=parse_duration(rs.window),
        points=rs.points,
        level=rs.level,
        direction=rs.direction,
        per=parse_duration(rs.per),
        repeat_interval=repeat,
        escalation=ladders.get(rs.escalation, ()),
        receivers=tuple(rs.receivers),
        labels=tuple(sorted(rs.labels.items())),
        summary=rs.summary,
        description=rs.description,
        stale_after=parse_duration(rs.stale_after),
        builtin=builtin,
    )


def _ladder(settings: EscalationSettings) -> tuple[Step, ...]:
    return tuple(
        Step(parse_duration(s.after), s.severity, tuple(s.receivers)) for s in settings.steps
    )


@dataclass(frozen=True, slots=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


BUILTIN_INHIBIT = (
    # A host that is down does not also page for what runs on it.
    InhibitSettings(source=["rule=host_down"], target=["rule!=host_down"], equal=["host"]),
    # A critical mutes the warnings of the same rule on the same host.
    InhibitSettings(
        source=["severity=critical"], target=["severity=warning"], equal=["host", "rule"]
    ),
)  # fmt: skip


def compile_inhibit(settings: AlerterSettings) -> list[InhibitRule]:
    chosen = [*(BUILTIN_INHIBIT if settings.builtin_inhibit else ()), *settings.inhibit]
    return [
        InhibitRule(
            tuple(Matcher.parse(m) for m in s.source),
            tuple(Matcher.parse(m) for m in s.target),
            tuple(s.equal),
        )
        for s in chosen
    ]
