"""What one group's flush sends: Alertmanager's `needsUpdate`, for alert events.

Pure. The state of each alert at flush time decides, not the state it had when its event
joined the group:

- a paging event (firing, severity_changed, reminder, escalated, unsilenced) is withheld
  when the alert is muted (silenced or inhibited), already resolved, or acknowledged since
  that event, at flush time (someone is on it: the alerter stops reminding too);
- a `resolved` is sent only to a receiver that may have been told the alert fired: it is
  withheld when the receiver's firing was withheld or never sent (fired and resolved within
  one wait), or when the alert was muted and this receiver was never told it fired;
- a `firing` of an episode this receiver was told fires is not news (the notifier's own
  alerts repeat theirs with a newer error): withheld, though a group sent whole carries it
  in its next message, as Alertmanager resends changed annotations only with news;
- other kinds (acknowledged, and those a route names: silenced, annotation) are sent as
  they are.

Reminders are the alerter's (it owns the repeat interval); the group delivers each within
`group_interval`, so nothing here delays or drops one that is due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypeAlias

from vitals_core.events import AlertEvent
from vitals_notifier import records
from vitals_notifier.records import Item

PAGING = frozenset({"firing", "severity_changed", "reminder", "escalated", "unsilenced"})
What: TypeAlias = Literal["firing", "resolved", "withheld"]
Reason: TypeAlias = Literal[
    "muted", "acknowledged", "resolved before it was sent", "never notified", "already told"
]


class Told(NamedTuple):
    """What one receiver was told of one alert: that it fires, that it resolved, or nothing
    because its page was withheld; and of which episode (the alert's `started_at`)."""

    what: What
    episode: float = 0.0


def is_muted(e: AlertEvent) -> bool:
    return bool(e.silence_id or e.inhibited_by)


class Seen(NamedTuple):
    """What a flush needs of an alert's newest event (small: many are remembered)."""

    ts: float
    event: str
    muted: bool
    acked: bool = False

    @classmethod
    def of(cls, e: AlertEvent) -> Seen:
        return cls(e.ts, e.event, is_muted(e), bool(e.acknowledged_by))

    @property
    def gone(self) -> bool:
        """Resolved or muted: nothing to page about."""
        return self.event == "resolved" or self.muted


@dataclass(frozen=True)
class Plan:
    """`send`: what changed (the native body); `whole`: the group's firing alerts and the
    just-resolved ones (the Alertmanager body); `told` and `active`: the receiver's and the
    group's memory after this flush; `withheld`: alert id → why it was not sent."""

    send: list[Item]
    whole: list[Item]
    told: dict[str, Told] = field(default_factory=dict)
    active: dict[str, AlertEvent] = field(default_factory=dict)
    withheld: dict[str, Reason] = field(default_factory=dict)


def plan(
    batch: Sequence[Item],
    current: Mapping[str, Seen],
    told: Mapping[str, Told],
    active: Mapping[str, AlertEvent],
) -> Plan:
    """Decide a flush of `batch` (the group's events, oldest first).

    `current`: the newest event the notifier has seen of each alert, whatever its route;
    `told`: what this receiver was told of each alert; `active`: the group's alerts this
    receiver was last told fire (oldest first).
    """
    paged = {e.alert_id for e in batch if isinstance(e, AlertEvent) and e.event in PAGING}
    send: list[Item] = []
    told_now: dict[str, Told] = {}
    withheld: dict[str, Reason] = {}
    latest = records.latest_per_alert(batch)
    for e in latest:
        if not isinstance(e, AlertEvent):
            send.append(e)
            continue
        before = told.get(e.alert_id)
        reason = _withhold(e, _newest(e, current.get(e.alert_id)), before, e.alert_id in paged)
        if reason is None:
            send.append(e)
            if e.event == "resolved":
                told_now[e.alert_id] = Told("resolved", e.started_at)
            elif e.event in PAGING or e.event == "acknowledged":
                told_now[e.alert_id] = Told("firing", e.started_at)
        else:
            withheld[e.alert_id] = reason
            if before is None or before.what != "firing":
                told_now[e.alert_id] = Told("withheld", e.started_at)
    updated = [
        e
        for e in latest
        if isinstance(e, AlertEvent) and withheld.get(e.alert_id) == "already told"
    ]
    new_active = _active(active, [*send, *updated], withheld, current)
    return Plan(send, _whole(active, send, new_active), told_now, new_active, withheld)


def _newest(e: AlertEvent, seen: Seen | None) -> Seen:
    return seen if seen is not None and seen.ts > e.ts else Seen.of(e)


def _withhold(e: AlertEvent, now: Seen, before: Told | None, paged: bool) -> Reason | None:
    if e.event in PAGING:
        if now.event == "resolved":
            return "resolved before it was sent"
        if now.muted:
            return "muted"
        if now.acked and not e.acknowledged_by:
            return "acknowledged"
        if e.event == "firing" and before == Told("firing", e.started_at):
            return "already told"
        return None
    if e.event == "resolved":
        # Nothing to take back unless the receiver may have been told the alert fired.
        if before is not None and before.what == "firing":
            return None
        if (before is not None and before.what == "withheld") or paged:
            return "never notified"
        if is_muted(e):
            return "muted"
    return None


def _active(
    active: Mapping[str, AlertEvent],
    send: list[Item],
    withheld: Mapping[str, Reason],
    current: Mapping[str, Seen],
) -> dict[str, AlertEvent]:
    out = dict(active)
    for e in send:
        if not isinstance(e, AlertEvent):
            continue
        if e.event == "resolved" or is_muted(e):
            out.pop(e.alert_id, None)
        else:
            out[e.alert_id] = e
    for alert_id, reason in withheld.items():
        if reason != "already told":
            out.pop(alert_id, None)
    for alert_id, e in list(out.items()):
        # Resolved or muted since, through an event not routed to this group.
        if _newest(e, current.get(alert_id)).gone:
            del out[alert_id]
    return out


def _whole(
    active: Mapping[str, AlertEvent], send: list[Item], new_active: Mapping[str, AlertEvent]
) -> list[Item]:
    """The group as a receiver should render it: firing alerts and those just resolved."""
    sent = {_key(e): e for e in send}
    out: list[Item] = []
    for alert_id in active:
        if alert_id in sent:
            out.append(sent.pop(alert_id))
        elif alert_id in new_active:
            out.append(new_active[alert_id])
    out.extend(sent.values())
    return out


def _key(e: Item) -> str:
    return e.alert_id if isinstance(e, AlertEvent) else e.id
