"""What a flush sends: a table of (group's events, alert states, what the receiver was told)
→ (sent, withheld, memory), as Alertmanager tests `needsUpdate`."""

from __future__ import annotations

from typing import Any

import pytest

from vitals_core.events import AlertEvent, Annotation
from vitals_notifier import flush
from vitals_notifier.flush import What


def ev(alert_id: str, event: str, ts: float, **extra: Any) -> AlertEvent:
    return AlertEvent(ts=ts, id=f"{alert_id}-{event}-{ts}", alert_id=alert_id, event=event,  # type: ignore[arg-type]
                      rule=alert_id, host="h", severity="critical", **extra)  # fmt: skip


SILENCED = {"silence_id": "s1"}
INHIBITED = {"inhibited_by": "down"}

# (name, batch, newest event per alert seen elsewhere, told, sent, withheld, told after)
# fmt: off
CASES: list[tuple[str, list[AlertEvent], list[AlertEvent], dict[str, What],
                  list[tuple[str, str]], dict[str, str], dict[str, What]]] = [
    ("a firing is sent", [ev("a", "firing", 1)], [], {},
     [("a", "firing")], {}, {"a": "firing"}),
    ("silenced during the wait: withheld", [ev("a", "firing", 1)],
     [ev("a", "silenced", 2, **SILENCED)], {},
     [], {"a": "muted"}, {"a": "withheld"}),
    ("inhibited during the wait: withheld", [ev("a", "firing", 1)],
     [ev("a", "silenced", 2, **INHIBITED)], {},
     [], {"a": "muted"}, {"a": "withheld"}),
    ("silenced, then unsilenced before the flush: sent", [ev("a", "firing", 1)],
     [ev("a", "unsilenced", 3)], {},
     [("a", "firing")], {}, {"a": "firing"}),
    ("a mute older than the event does not count", [ev("a", "unsilenced", 3)],
     [ev("a", "silenced", 2, **SILENCED)], {},
     [("a", "unsilenced")], {}, {"a": "firing"}),
    ("resolved through another route before the flush", [ev("a", "firing", 1)],
     [ev("a", "resolved", 2)], {},
     [], {"a": "resolved before it was sent"}, {"a": "withheld"}),
    ("fired and resolved within the wait: nothing",
     [ev("a", "firing", 1), ev("a", "resolved", 2)], [], {},
     [], {"a": "never notified"}, {"a": "withheld"}),
    ("resolved after a withheld page: nothing", [ev("a", "resolved", 5)], [], {"a": "withheld"},
     [], {"a": "never notified"}, {"a": "withheld"}),
    ("resolved after a sent page: sent", [ev("a", "resolved", 5)], [], {"a": "firing"},
     [("a", "resolved")], {}, {"a": "resolved"}),
    ("fired again and resolved within the wait after an earlier episode",
     [ev("a", "firing", 9), ev("a", "resolved", 10)], [], {"a": "resolved"},
     [], {"a": "never notified"}, {"a": "withheld"}),
    ("resolved while muted, never told: nothing", [ev("a", "resolved", 5, **SILENCED)], [], {},
     [], {"a": "muted"}, {"a": "withheld"}),
    ("resolved while muted, told it fired: sent", [ev("a", "resolved", 5, **SILENCED)], [],
     {"a": "firing"}, [("a", "resolved")], {}, {"a": "resolved"}),
    ("resolved with no history (a restart): sent", [ev("a", "resolved", 5)], [], {},
     [("a", "resolved")], {}, {"a": "resolved"}),
    ("a reminder is never held back", [ev("a", "reminder", 50)], [], {"a": "firing"},
     [("a", "reminder")], {}, {"a": "firing"}),
    ("a reminder of a muted alert is withheld, told stays", [ev("a", "reminder", 50)],
     [ev("a", "silenced", 51, **SILENCED)], {"a": "firing"},
     [], {"a": "muted"}, {}),
    ("acknowledged during the wait, the ack routed elsewhere: withheld",
     [ev("a", "firing", 1)], [ev("a", "acknowledged", 2, acknowledged_by="ann")], {},
     [], {"a": "acknowledged"}, {"a": "withheld"}),
    ("a change after the acknowledgement is sent",
     [ev("a", "severity_changed", 3, acknowledged_by="ann")],
     [ev("a", "severity_changed", 3, acknowledged_by="ann")], {"a": "firing"},
     [("a", "severity_changed")], {}, {"a": "firing"}),
    ("an acknowledgement is sent as it is", [ev("a", "firing", 1), ev("a", "acknowledged", 2)],
     [], {}, [("a", "acknowledged")], {}, {"a": "firing"}),
    ("a silenced event a route names is sent", [ev("a", "silenced", 2, **SILENCED)], [], {},
     [("a", "silenced")], {}, {}),
    ("a firing of an episode already told is not news", [ev("a", "firing", 5)], [],
     {"a": "firing"}, [], {"a": "already told"}, {}),
    ("a firing of a new episode is", [ev("a", "firing", 5, started_at=4.0)], [],
     {"a": "firing"}, [("a", "firing")], {}, {"a": "firing"}),
    ("one muted, one not", [ev("a", "firing", 1), ev("b", "firing", 1)],
     [ev("a", "silenced", 2, **SILENCED)], {},
     [("b", "firing")], {"a": "muted"}, {"a": "withheld", "b": "firing"}),
]
# fmt: on


@pytest.mark.parametrize(
    ("batch", "seen", "told", "sent", "withheld", "told_after"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_flush_decides_from_the_state_at_flush_time(
    batch: list[AlertEvent], seen: list[AlertEvent], told: dict[str, What],
    sent: list[tuple[str, str]], withheld: dict[str, str], told_after: dict[str, What],
) -> None:  # fmt: skip
    current = {e.alert_id: flush.Seen.of(e) for e in seen}
    p = flush.plan(batch, current, {a: flush.Told(what) for a, what in told.items()}, {})
    assert [(e.alert_id, e.event) for e in p.send if isinstance(e, AlertEvent)] == sent
    assert p.withheld == withheld
    assert {a: t.what for a, t in p.told.items()} == told_after


def test_the_whole_group_holds_firing_and_just_resolved_alerts() -> None:
    a, b, c = ev("a", "firing", 1), ev("b", "firing", 1), ev("c", "firing", 1)
    first = flush.plan([a, b, c], {}, {}, {})
    assert list(first.active) == ["a", "b", "c"]
    # a resolves; c was silenced through an event this group never saw.
    silenced_c = ev("c", "silenced", 3, **SILENCED)
    current = {"c": flush.Seen.of(silenced_c)}
    second = flush.plan([ev("a", "resolved", 4)], current, first.told, first.active)
    assert [(e.alert_id, e.event) for e in second.send if isinstance(e, AlertEvent)] == [
        ("a", "resolved")
    ]
    assert [(e.alert_id, e.event) for e in second.whole if isinstance(e, AlertEvent)] == [
        ("a", "resolved"), ("b", "firing")
    ]  # fmt: skip
    assert list(second.active) == ["b"]
    # Later, only b's reminder arrives: the whole group is b; a is no longer "just resolved".
    third = flush.plan([ev("b", "reminder", 9)], {}, second.told, second.active)
    assert [(e.alert_id, e.event) for e in third.whole if isinstance(e, AlertEvent)] == [
        ("b", "reminder")
    ]


def test_nothing_to_send_leaves_the_whole_group_empty_too() -> None:
    p = flush.plan([ev("a", "firing", 1), ev("a", "resolved", 2)], {}, {}, {})
    assert p.send == []
    assert p.whole == []


def test_annotations_always_go() -> None:
    note = Annotation(ts=1.0, id="n1", text="deploy")
    p = flush.plan([note], {}, {}, {})
    assert p.send == [note]
    assert p.whole == [note]


def test_news_carries_the_latest_of_an_alert_already_told() -> None:
    first = flush.plan([ev("a", "firing", 1, description="HTTP 400")], {}, {}, {})
    again = ev("a", "firing", 2, description="HTTP 503")
    quiet = flush.plan([again], {}, first.told, first.active)
    assert (quiet.send, quiet.withheld) == ([], {"a": "already told"})
    news = flush.plan([ev("b", "firing", 3)], {}, quiet.told, quiet.active)
    assert [(e.alert_id, e.description) for e in news.whole if isinstance(e, AlertEvent)] == [
        ("a", "HTTP 503"), ("b", "")
    ]  # fmt: skip
