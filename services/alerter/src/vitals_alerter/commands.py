"""The control verbs (vitals_core.control) over NATS request/reply.

Any replica answers a verb (queue group): what it changes goes to JetStream KV, where the
replica that owns the host picks it up (acknowledgements) or every replica does (silences).
`stats` is answered by every replica, each for itself.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from vitals_alerter import history, silences
from vitals_alerter.counters import Counters
from vitals_alerter.rules import Rule
from vitals_alerter.store import AckRequest, Store
from vitals_core import control, subjects
from vitals_core.control import Reply

log = logging.getLogger("vitals.alerter.control")

Handler = Callable[[Any], Awaitable[Reply]]


def error(text: str) -> Reply:
    return Reply(ok=False, error=text)


def not_found(text: str) -> Reply:
    return Reply(ok=False, error=text, not_found=True)


class ControlServer:
    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        store: Store,
        rules: list[Rule],
        counters: Counters,
        stats: Callable[[], dict[str, Any]],
        history_scan_limit: int,
    ) -> None:
        self.nc = nc
        self.js = js
        self.store = store
        self.rules = rules
        self.counters = counters
        self.stats = stats
        self.history_scan_limit = history_scan_limit
        self.subs: list[Subscription] = []
        self.handlers: dict[str, Handler] = {
            "acknowledge": self.acknowledge,
            "silence_create": self.silence_create,
            "silence_delete": self.silence_delete,
            "silence_list": self.silence_list,
            "rule_list": self.rule_list,
            "alert_history": self.alert_history,
            "stats": self.stats_reply,
        }

    async def start(self) -> None:
        for verb, kind in control.ALERTER_VERBS.items():
            queue = "" if verb == "stats" else subjects.ALERTER_QUEUE
            self.subs.append(
                await self.nc.subscribe(
                    subjects.control(control.ALERTER, verb),
                    queue=queue,
                    cb=self._callback(verb, kind),
                )
            )

    async def stop(self) -> None:
        for sub in self.subs:
            await sub.unsubscribe()

    def _callback(self, verb: str, kind: type[Any]) -> Callable[[Msg], Awaitable[None]]:
        async def on_request(msg: Msg) -> None:
            reply = await self.dispatch(verb, kind, msg.data)
            if msg.reply:
                await msg.respond(control.encode(reply))

        return on_request

    async def dispatch(self, verb: str, kind: type[Any], data: bytes) -> Reply:
        self.counters.inc(f"control_{verb}")
        try:
            request = control.decode_request(kind, data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self.counters.inc("control_invalid")
            return error(f"bad {verb} request: {exc}")
        try:
            return await self.handlers[verb](request)
        except Exception:
            self.counters.inc("control_failed")
            log.exception("control verb %s failed", verb)
            return error(f"{verb} failed inside the alerter; see its log")

    # --- verbs --------------------------------------------------------------------------------

    async def acknowledge(self, request: control.Acknowledge) -> Reply:
        if not request.by:
            return error("by (who acknowledges) is required")
        state = await self.store.state(request.alert_id)
        if state is None:
            return not_found(f"no alert {request.alert_id!r}")
        if state.status != "firing":
            return error(f"alert {request.alert_id} is not firing (it is {state.status})")
        if state.acked_by:
            view = _ack_view(
                state.alert_id, state.acked_by, state.acked_at, state.ack_comment, True
            )
            return Reply(ok=True, data=view)
        now = time.time()
        ack = AckRequest(
            alert_id=state.alert_id,
            host=state.host,
            episode=state.started_at,
            by=request.by,
            at=now,
            comment=request.comment,
        )
        await self.store.request_ack(ack)
        log.info("alert %s acknowledged by %s", state.alert_id, request.by)
        return Reply(ok=True, data=_ack_view(ack.alert_id, ack.by, now, ack.comment, False))

    async def silence_create(self, request: control.CreateSilence) -> Reply:
        now = time.time()
        try:
            silence = silences.create(request, uuid.uuid4().hex, now)
        except ValueError as exc:
            return error(str(exc))
        await self.store.put_silence(silence)
        log.info("silence %s created by %s", silence.id, silence.created_by)
        return Reply(ok=True, data=silence.view(now))

    async def silence_delete(self, request: control.DeleteSilence) -> Reply:
        if not request.by:
            return error("by (who deletes the silence) is required")
        silence = await self.store.silence(request.id)
        if silence is None:
            return not_found(f"no silence {request.id!r}")
        now = time.time()
        if silence.deleted_at is None:
            silence = silences.end(silence, request.by, now)
            await self.store.put_silence(silence)
            log.info("silence %s deleted by %s", silence.id, request.by)
        return Reply(ok=True, data=silence.view(now))

    async def silence_list(self, request: control.ListSilences) -> Reply:
        now = time.time()
        found = sorted(await self.store.all_silences(), key=lambda s: (s.starts_at, s.id))
        if not request.include_expired:
            found = [s for s in found if s.status(now) != "expired"]
        return Reply(ok=True, data={"silences": [s.view(now) for s in found]})

    async def rule_list(self, request: control.ListRules) -> Reply:
        return Reply(ok=True, data={"rules": [r.describe() for r in self.rules]})

    async def alert_history(self, request: control.AlertHistory) -> Reply:
        host = request.host
        if host:
            try:
                subjects.token(host, "host")
            except subjects.InvalidName as exc:
                return error(str(exc))
        elif request.alert_id:
            # The alert's host narrows the scan to its subject, when the alert is known.
            state = await self.store.state(request.alert_id)
            host = state.host if state is not None else ""
        data = await history.query(self.js, request, host, self.history_scan_limit)
        return Reply(ok=True, data=data)

    async def stats_reply(self, request: control.AlerterStats) -> Reply:
        return Reply(ok=True, data=self.stats())


def _ack_view(
    alert_id: str, by: str, at: float | None, comment: str, already: bool
) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "acknowledged_by": by,
        "acknowledged_at": at,
        "comment": comment,
        "already": already,
    }
