"""Routes: which receivers each event reaches, `continue`, fallback, escalation names."""

from __future__ import annotations

import msgspec
import pytest

from vitals_core.events import AlertEvent, Annotation
from vitals_core.settings.notifier import NotifierSettings
from vitals_notifier import routes

SETTINGS = msgspec.convert(
    {
        "smtp_url": "smtp://mail.example.com",
        "receivers": [
            {"name": n, "kind": "email", "to": [f"{n}@example.com"]}
            for n in ("pager", "ops", "ml", "audit", "fallback", "oncall-2", "changes")
        ],
        "default_receivers": ["fallback"],
        "routes": [
            {"name": "audit-all", "receivers": ["audit"], "continue": True,
             "events": ["acknowledged", "silenced", "unsilenced"]},
            {"name": "critical", "receivers": ["pager"], "severity": ["critical"],
             "events": ["firing", "escalated"], "continue": True, "group_wait": 0.0},
            {"name": "gpu-ml", "receivers": ["ml"], "hosts": ["gpu-*"],
             "labels": {"team": "ml"}},
            {"name": "disks", "receivers": ["ops"], "rules": ["disk_*"],
             "matchers": [{"name": "mount", "op": "!~", "value": "/mnt/.*"}]},
            {"name": "deploys", "receivers": ["changes"], "events": ["annotation"]},
        ],
    },
    NotifierSettings,
)  # fmt: skip
KNOWN = {r.name for r in SETTINGS.receivers}


def event(**kw: object) -> AlertEvent:
    base: dict[str, object] = {
        "ts": 1.0, "id": "e1", "alert_id": "a1", "event": "firing", "rule": "cpu_high",
        "host": "web-1", "severity": "warning",
    }  # fmt: skip
    return msgspec.convert(base | kw, AlertEvent)


CASES = [
    ("nothing matches: default receivers", event(), ["fallback"]),
    ("critical firing continues, nothing else matches", event(severity="critical"), ["pager"]),
    (
        "critical continues into gpu-ml",
        event(severity="critical", host="gpu-3", labels={"team": "ml"}),
        ["pager", "ml"],
    ),
    ("glob and label both needed", event(host="gpu-3"), ["fallback"]),
    ("label mismatch", event(host="gpu-3", labels={"team": "web"}), ["fallback"]),
    ("rule glob with regex matcher", event(rule="disk_full", labels={"mount": "/"}), ["ops"]),
    (
        "negative regex excludes",
        event(rule="disk_full", labels={"mount": "/mnt/data"}),
        ["fallback"],
    ),
    (
        "event kind: resolved skips the critical route",
        event(severity="critical", event="resolved"),
        ["fallback"],
    ),
    (
        "acknowledged: audit continues to the rest",
        event(event="acknowledged", host="gpu-1", labels={"team": "ml"}),
        ["audit", "ml"],
    ),
    ("audit alone then nothing else: no fallback", event(event="unsilenced"), ["audit"]),
    (
        "a muted alert reaches only routes naming `silenced`",
        event(event="silenced", severity="critical", receivers=["ops"]),
        ["audit"],
    ),
    (
        "first match stops the walk",
        event(host="gpu-1", labels={"team": "ml"}, rule="disk_x"),
        ["ml"],
    ),
]


@pytest.mark.parametrize(("case", "item", "expected"), CASES, ids=[c[0] for c in CASES])
def test_routes_choose_receivers(case: str, item: AlertEvent, expected: list[str]) -> None:
    routed = routes.route(item, SETTINGS.routes, ["fallback"], KNOWN, SETTINGS)
    assert [t.receiver for t in routed.targets] == expected
    assert routed.unknown == []


def test_route_grouping_overrides_defaults() -> None:
    routed = routes.route(
        event(severity="critical"), SETTINGS.routes, ["fallback"], KNOWN, SETTINGS
    )
    (pager,) = routed.targets
    assert pager.route == "critical"
    assert pager.grouping.group_wait == 0.0
    assert pager.grouping.group_interval == SETTINGS.group_interval
    (fallback,) = routes.route(event(), SETTINGS.routes, ["fallback"], KNOWN, SETTINGS).targets
    assert fallback.route == routes.DEFAULT_ROUTE
    assert fallback.grouping.group_by == ("host",)


def test_escalation_adds_named_receivers_and_reports_unknown() -> None:
    item = event(severity="critical", event="escalated", receivers=["oncall-2", "pager", "nobody"])
    routed = routes.route(item, SETTINGS.routes, ["fallback"], KNOWN, SETTINGS)
    assert [t.receiver for t in routed.targets] == ["pager", "oncall-2"]
    assert routed.unknown == ["nobody"]


def test_muted_alerts_do_not_fall_back() -> None:
    muted = event(event="silenced", silence_id="s1")
    assert routes.route(muted, [], ["fallback"], KNOWN, SETTINGS).targets == []


def test_annotations_only_reach_routes_that_name_them() -> None:
    note = Annotation(ts=1.0, id="n1", text="deploy v2", host="web-1", tags=["deploy"])
    routed = routes.route(note, SETTINGS.routes, ["fallback"], KNOWN, SETTINGS)
    assert [t.receiver for t in routed.targets] == ["changes"]
    routed = routes.route(note, [], ["fallback"], KNOWN, SETTINGS)
    assert routed.targets == []


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [("=", "a", "a", True), ("=", "a", "b", False), ("!=", "a", "b", True),
     ("=~", "gpu-[0-9]+", "gpu-12", True), ("=~", "gpu", "gpu-12", False),
     ("!~", "gpu.*", "web-1", True), ("!~", "gpu.*", "gpu-1", False)],
)  # fmt: skip
def test_matcher_ops(op: str, value: str, actual: str, expected: bool) -> None:
    from vitals_core.control import Matcher

    assert routes.matcher_matches(Matcher(name="x", op=op, value=value), actual) is expected


def test_matchers_see_fields_and_labels() -> None:
    v = routes.view(event(labels={"team": "ml"}))
    assert (v.value("event"), v.value("severity"), v.value("team"), v.value("nope")) == (
        "firing", "warning", "ml", ""
    )  # fmt: skip
