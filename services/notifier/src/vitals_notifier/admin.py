"""The control verbs (`attempts_list`, `dead_list`, `dead_replay`) over NATS request/reply.

Served by a queue group so any replica answers; every reply is a `control.Reply`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from vitals_core import control, subjects
from vitals_core.control import DeadLetterInfo, Reply
from vitals_core.events import AlertEvent
from vitals_notifier.dispatch import Dispatcher
from vitals_notifier.records import DeadLetter
from vitals_notifier.stats import Counters
from vitals_notifier.store import Store

log = logging.getLogger("vitals.notifier.admin")
QUEUE = "vitals-notifier"


class NotFound(Exception):
    pass


class Conflict(Exception):
    """The request is valid but cannot be done now; the message says why."""


def dead_info(letter: DeadLetter, channel: str) -> DeadLetterInfo:
    d = letter.delivery
    n = d.notification
    return DeadLetterInfo(
        id=n.id,
        receiver=n.receiver,
        channel=channel,
        reason=letter.reason,
        dead_at=letter.dead_at,
        created_at=n.created_at,
        attempts=d.attempts,
        group_key=n.group_key,
        alert_ids=[e.alert_id if isinstance(e, AlertEvent) else e.id for e in n.events],
        status=letter.status,
    )


class Admin:
    def __init__(
        self, store: Store, dispatcher: Dispatcher, counters: Counters, listed: int
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.counters = counters
        self.listed = listed
        self._subs: list[Subscription] = []

    async def serve(self, nc: Client) -> None:
        handlers: dict[str, Callable[[Any], Awaitable[Any]]] = {
            "attempts_list": self.attempts_list,
            "dead_list": self.dead_list,
            "dead_replay": self.dead_replay,
        }
        for verb, request_type in control.NOTIFIER_VERBS.items():
            handler = handlers[verb]

            async def answer(msg: Msg, rt: type[Any] = request_type, h: Any = handler) -> None:
                await msg.respond(control.encode(await self._call(rt, h, msg.data)))

            sub = await nc.subscribe(
                subjects.control(control.NOTIFIER, verb), queue=QUEUE, cb=answer
            )
            self._subs.append(sub)

    async def _call(
        self, request_type: type[Any], handler: Callable[[Any], Awaitable[Any]], data: bytes
    ) -> Reply:
        try:
            request = control.decode_request(request_type, data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self.counters.inc("control_invalid")
            return Reply(ok=False, error=f"invalid request: {exc}")
        try:
            return Reply(ok=True, data=await handler(request))
        except NotFound as exc:
            return Reply(ok=False, not_found=True, error=str(exc))
        except Conflict as exc:
            return Reply(ok=False, error=str(exc))
        except Exception:
            log.exception("control request failed")
            return Reply(ok=False, error="the notifier could not answer; see its log")

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()

    async def attempts_list(self, r: control.ListAttempts) -> dict[str, Any]:
        limit = max(1, min(r.limit, self.listed))
        found = await self.store.recent_attempts(r.receiver, self.listed if r.receiver else limit)
        found = [a for a in found if a.at >= r.since][-limit:]
        return {
            "attempts": found,
            "pending": self.dispatcher.pending(),
            "disabled": {k: v.reason for k, v in self.dispatcher.disabled.items()},
            "counters": self.counters.snapshot() | {"dead_dropped": self.store.dead_dropped},
        }

    async def dead_list(self, r: control.ListDeadLetters) -> dict[str, Any]:
        letters = sorted(await self.store.dead_letters(), key=lambda x: -x.dead_at)
        kinds = {name: q.channel.kind for name, q in self.dispatcher.queues.items()}
        return {
            "dead": [dead_info(x, kinds.get(x.delivery.notification.receiver, "")) for x in
                     letters[: max(1, r.limit)]],
            "total": len(letters),
        }  # fmt: skip

    async def dead_replay(self, r: control.ReplayDeadLetter) -> dict[str, Any]:
        letter = await self.store.dead_letter(r.id)
        if letter is None:
            raise NotFound(f"no dead letter {r.id!r}")
        receiver = letter.delivery.notification.receiver
        if receiver not in self.dispatcher.queues:
            raise Conflict(f"receiver {receiver!r} of {r.id} is no longer configured")
        await self.dispatcher.replay(letter)
        self.counters.inc("replays")
        log.info("dead letter %s replayed to %s by %s", r.id, receiver, r.by)
        return {"id": r.id, "receiver": receiver, "replayed": True}
