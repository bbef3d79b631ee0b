"""Inhibition: while a source alert fires, matching target alerts that share its `equal`
labels are muted (a host that is down mutes that host's other alerts; a critical mutes the
warnings of the same rule on the same host).

A firing alert is a source whether or not it is muted itself; an alert never inhibits itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vitals_alerter.rules import InhibitRule, matches_all

Labels = Mapping[str, str]
Index = list[dict[tuple[str, ...], list[str]]]


def _key(rule: InhibitRule, labels: Labels) -> tuple[str, ...]:
    return tuple(labels.get(name, "") for name in rule.equal)


def index(rules: list[InhibitRule], firing: Iterable[tuple[str, Labels]]) -> Index:
    """For each rule: the `equal` label values of its firing sources, and their ids."""
    out: Index = [{} for _ in rules]
    for alert_id, labels in firing:
        for rule, sources in zip(rules, out, strict=True):
            if matches_all(rule.source, labels):
                sources.setdefault(_key(rule, labels), []).append(alert_id)
    return out


def inhibitor(rules: list[InhibitRule], idx: Index, alert_id: str, labels: Labels) -> str:
    """The id of a firing alert that mutes this one, or ''."""
    for rule, sources in zip(rules, idx, strict=True):
        if not sources or not matches_all(rule.target, labels):
            continue
        for source in sources.get(_key(rule, labels), ()):
            if source != alert_id:
                return source
    return ""
