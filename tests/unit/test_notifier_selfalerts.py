"""The notifier's own alerts: one dead-letter alert per receiver, joined, then resolved."""

from __future__ import annotations

import asyncio

from vitals_core.events import AlertEvent
from vitals_notifier import selfalerts
from vitals_notifier.store import Alarm


class MemoryAlarms:
    def __init__(self) -> None:
        self.kept: dict[str, Alarm] = {}

    async def alarms(self) -> dict[str, Alarm]:
        return dict(self.kept)

    async def set_alarm(self, receiver: str, alarm: Alarm) -> None:
        self.kept[receiver] = alarm

    async def clear_alarm(self, receiver: str) -> None:
        self.kept.pop(receiver, None)


def alarms(fail: bool = False) -> tuple[selfalerts.DeadAlarms, list[AlertEvent], MemoryAlarms]:
    published: list[AlertEvent] = []
    store = MemoryAlarms()

    async def publish(event: AlertEvent) -> None:
        if fail:
            raise ConnectionError("bus away")
        published.append(event)

    clock = iter(float(t) for t in range(100, 200))
    return selfalerts.DeadAlarms(store, publish, "nh", lambda: next(clock)), published, store


async def test_first_dead_letter_raises_later_ones_join_a_delivery_resolves() -> None:
    a, published, store = alarms()
    await asyncio.gather(a.dead("hook", "HTTP 400"), a.dead("hook", "HTTP 400"))
    await a.dead("mail", "SMTP 550")
    assert [(e.alert_id, e.event) for e in published] == [
        ("notifier-dead-letter-hook", "firing"),
        ("notifier-dead-letter-mail", "firing"),
    ]
    assert published[0].labels == {"receiver": "hook", "service": "notifier"}
    assert published[0].description.startswith("HTTP 400")
    # A new error: the same alert again (same episode) with it.
    await a.dead("hook", "HTTP 500")
    update = published[-1]
    assert (update.alert_id, update.event) == ("notifier-dead-letter-hook", "firing")
    assert update.started_at == published[0].started_at
    assert update.description.startswith("3 messages so far; the last: HTTP 500")
    assert (store.kept["hook"].count, store.kept["hook"].last_error) == (3, "HTTP 500")
    await a.delivered("hook")
    await a.delivered("hook")
    resolved = published[-1]
    assert (resolved.event, resolved.alert_id) == ("resolved", "notifier-dead-letter-hook")
    assert resolved.description == "3 messages went to the dead letters; the last: HTTP 500"
    assert resolved.started_at == published[0].started_at
    assert len(published) == 4
    assert set(store.kept) == {"mail"}


async def test_a_restart_still_resolves_and_a_failed_publish_is_tried_again() -> None:
    a, published, store = alarms()
    store.kept["hook"] = Alarm(first_at=50.0, count=3, last_error="HTTP 400")
    await a.load()
    await a.delivered("hook")
    assert [(e.event, e.started_at) for e in published] == [("resolved", 50.0)]
    down, nothing, kept = alarms(fail=True)
    await down.dead("hook", "HTTP 400")
    assert (nothing, kept.kept, down.open) == ([], {}, {})


def alert(rule: str, labels: dict[str, str]) -> AlertEvent:
    return AlertEvent(ts=1.0, id="e", alert_id="a", event="firing", rule=rule, host="h",
                      severity="critical", labels=labels)  # fmt: skip


def test_the_alert_about_a_receiver_names_it_and_only_the_notifiers_do() -> None:
    raised = selfalerts.dead_letter_alert("nh", "hook", Alarm(first_at=1, count=1,
                                          last_error="x"), 2.0)  # fmt: skip
    assert selfalerts.about_receiver(raised) == "hook"
    lookalike = alert(rule=selfalerts.RULE_DEAD, labels={"receiver": "hook"})
    assert selfalerts.about_receiver(lookalike) is None
    assert selfalerts.about_receiver(alert("cpu_high", {"service": "notifier"})) is None
