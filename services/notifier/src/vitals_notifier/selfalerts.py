"""The notifier's own alerts: a receiver that answered 410, a receiver whose messages go to
the dead letters. Published as ordinary alert events, so the dashboard shows them and the
routes send them on, to every receiver but the one they are about.

One dead-letter alert per receiver: it fires at the receiver's first dead letter (with
its error); later ones join it, and one with a new error publishes the alert again, the
same episode, so the dashboard shows the last error while receivers already told are not
paged again (see `flush`); it resolves at the receiver's next delivery, saying how many
went and the last error. Its state is kept in the store, so a restart resolves it too.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from vitals_core.events import AlertEvent
from vitals_notifier.records import Item
from vitals_notifier.store import Alarm

log = logging.getLogger("vitals.notifier.selfalerts")

RULE_GONE = "notifier_receiver_gone"
RULE_DEAD = "notifier_dead_letter"
SERVICE = "notifier"

Publish = Callable[[AlertEvent], Awaitable[None]]


def about_receiver(event: Item) -> str | None:
    """The receiver one of the notifier's own alerts is about, else None."""
    if (
        isinstance(event, AlertEvent)
        and event.rule in (RULE_GONE, RULE_DEAD)
        and event.labels.get("service") == SERVICE
    ):
        return event.labels.get("receiver")
    return None


def dead_letter_alert(host: str, receiver: str, alarm: Alarm, now: float) -> AlertEvent:
    """`firing` while the alarm is open; `resolved` (`now` given to close it) after."""
    resolved = alarm.resolved_at is not None
    letters = "1 message" if alarm.count == 1 else f"{alarm.count} messages"
    if resolved:
        summary = f"Receiver {receiver} delivers again"
        description = f"{letters} went to the dead letters; the last: {alarm.last_error}"
    else:
        summary = f"Messages to receiver {receiver} go to the dead letters"
        so_far = "" if alarm.count == 1 else f"{letters} so far; the last: "
        description = (
            f"{so_far}{alarm.last_error}. Replay them from the dead letters once it is fixed."
        )
    return AlertEvent(
        ts=now,
        id=uuid.uuid4().hex,
        alert_id=f"notifier-dead-letter-{receiver}",
        event="resolved" if resolved else "firing",
        rule=RULE_DEAD,
        host=host,
        severity="critical",
        labels={"receiver": receiver, "service": SERVICE},
        summary=summary,
        description=description,
        started_at=alarm.first_at,
        resolved_at=alarm.resolved_at,
        value=float(alarm.count),
    )


class AlarmStore(Protocol):
    async def alarms(self) -> dict[str, Alarm]: ...

    async def set_alarm(self, receiver: str, alarm: Alarm) -> None: ...

    async def clear_alarm(self, receiver: str) -> None: ...


class DeadAlarms:
    """Raise, join and resolve the per-receiver dead-letter alerts."""

    def __init__(
        self,
        store: AlarmStore,
        publish: Publish,
        host: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.publish = publish
        self.host = host
        self.clock = clock
        self.open: dict[str, Alarm] = {}
        # The error each open alert last published.
        self.shown: dict[str, str] = {}

    async def load(self) -> None:
        self.open = await self.store.alarms()
        self.shown = {name: alarm.last_error for name, alarm in self.open.items()}

    async def dead(self, receiver: str, reason: str) -> None:
        """A message to `receiver` went to the dead letters; never raises."""
        alarm = self.open.get(receiver)
        if alarm is not None:
            alarm.count += 1
            alarm.last_error = reason
            if reason != self.shown.get(receiver):
                self.shown[receiver] = reason
                event = dead_letter_alert(self.host, receiver, alarm, self.clock())
                if not await self._publish(event):
                    self.shown.pop(receiver, None)
        else:
            now = self.clock()
            # Open before publishing: a concurrent dead letter joins instead of raising again.
            alarm = self.open[receiver] = Alarm(first_at=now, count=1, last_error=reason)
            self.shown[receiver] = reason
            if not await self._publish(dead_letter_alert(self.host, receiver, alarm, now)):
                del self.open[receiver]
                return
        await self._keep(self.store.set_alarm(receiver, alarm))

    async def delivered(self, receiver: str) -> None:
        """A message reached `receiver`: resolve its alert, if open; never raises."""
        alarm = self.open.pop(receiver, None)
        if alarm is None:
            return
        self.shown.pop(receiver, None)
        now = self.clock()
        closed = Alarm(first_at=alarm.first_at, count=alarm.count,
                       last_error=alarm.last_error, resolved_at=now)  # fmt: skip
        if await self._publish(dead_letter_alert(self.host, receiver, closed, now)):
            await self._keep(self.store.clear_alarm(receiver))
        else:
            self.open.setdefault(receiver, alarm)

    async def _publish(self, event: AlertEvent) -> bool:
        try:
            await self.publish(event)
        except Exception as exc:
            log.error("could not publish the alert %s: %s", event.alert_id, exc)
            return False
        return True

    async def _keep(self, op: Awaitable[None]) -> None:
        # Losing this only means a restart does not know the alert is open.
        try:
            await op
        except Exception as exc:
            log.warning("could not store the dead-letter alert's state: %s", exc)
