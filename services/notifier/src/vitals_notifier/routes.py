"""Which receivers an event goes to: ordered routes, first match wins unless `continue`.

Pure: no I/O. An escalated event's `receivers` are added by name to what the routes chose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from vitals_core.control import Matcher
from vitals_core.events import AlertEvent
from vitals_core.settings.notifier import NotifierSettings, RouteSettings
from vitals_notifier.records import Item

DEFAULT_ROUTE = "default"
# Kinds only a route that names them in `events` receives: a muted alert must not page
# (the alerter announces an alert that starts firing under a silence as `silenced`), and
# annotations are not alerts.
NAMED_ONLY = frozenset({"silenced", "annotation"})


@dataclass(frozen=True)
class Grouping:
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float


@dataclass(frozen=True)
class Target:
    receiver: str
    route: str
    grouping: Grouping


@dataclass(frozen=True)
class View:
    """What routes and grouping look at in an event."""

    kind: str
    severity: str
    host: str
    rule: str
    alert_id: str
    labels: dict[str, str] = field(default_factory=dict)

    def value(self, name: str) -> str:
        if name == "event":
            return self.kind
        if name in ("severity", "host", "rule", "alert_id"):
            return str(getattr(self, name))
        return self.labels.get(name, "")


def view(item: Item) -> View:
    if isinstance(item, AlertEvent):
        return View(
            kind=item.event,
            severity=item.severity,
            host=item.host,
            rule=item.rule,
            alert_id=item.alert_id,
            labels=item.labels,
        )
    return View(kind="annotation", severity="info", host=item.host, rule="annotation",
                alert_id=item.id, labels=dict.fromkeys(item.tags, "true"))  # fmt: skip


def route_name(route: RouteSettings, index: int) -> str:
    return route.name or f"route-{index}"


def grouping(route: RouteSettings | None, defaults: NotifierSettings) -> Grouping:
    if route is None:
        route = RouteSettings(receivers=["-"])

    def pick(value: float | None, default: float) -> float:
        return default if value is None else value

    return Grouping(
        group_by=tuple(defaults.group_by if route.group_by is None else route.group_by),
        group_wait=pick(route.group_wait, defaults.group_wait),
        group_interval=pick(route.group_interval, defaults.group_interval),
        repeat_interval=pick(route.repeat_interval, defaults.repeat_interval),
    )


def matches(route: RouteSettings, v: View) -> bool:
    if route.events and v.kind not in route.events:
        return False
    if not route.events and v.kind in NAMED_ONLY:
        return False
    if route.severity and v.severity not in route.severity:
        return False
    if route.hosts and not any(fnmatchcase(v.host, p) for p in route.hosts):
        return False
    if route.rules and not any(fnmatchcase(v.rule, p) for p in route.rules):
        return False
    if any(v.labels.get(k) != value for k, value in route.labels.items()):
        return False
    return all(matcher_matches(m, v.value(m.name)) for m in route.matchers)


def matcher_matches(m: Matcher, value: str) -> bool:
    if m.op == "=":
        return value == m.value
    if m.op == "!=":
        return value != m.value
    found = re.fullmatch(m.value, value) is not None
    return found if m.op == "=~" else not found


@dataclass(frozen=True)
class Routed:
    targets: list[Target]
    # Receivers an escalation named that the configuration does not know.
    unknown: list[str]


def route(
    item: Item,
    routes: Sequence[RouteSettings],
    fallback: Sequence[str],
    known: set[str],
    defaults: NotifierSettings,
) -> Routed:
    v = view(item)
    targets: list[Target] = []
    first: RouteSettings | None = None
    for index, r in enumerate(routes):
        if not matches(r, v):
            continue
        first = first or r
        g = grouping(r, defaults)
        targets += [Target(name, route_name(r, index), g) for name in r.receivers]
        if not r.continue_:
            break
    if first is None and v.kind not in NAMED_ONLY:
        g = grouping(None, defaults)
        targets = [Target(name, DEFAULT_ROUTE, g) for name in fallback]
    unknown: list[str] = []
    # Receivers the alerter names (a rule's, an escalation step's) join, unless muted.
    if isinstance(item, AlertEvent) and item.receivers and v.kind not in NAMED_ONLY:
        g = grouping(first, defaults)
        for name in item.receivers:
            if name in known:
                targets.append(Target(name, "escalation", g))
            else:
                unknown.append(name)
    return Routed(_first_per_receiver(targets), unknown)


def _first_per_receiver(targets: list[Target]) -> list[Target]:
    seen: set[str] = set()
    out = []
    for t in targets:
        if t.receiver not in seen:
            seen.add(t.receiver)
            out.append(t)
    return out
