"""Requests the gateway forwards to the alerter and the notifier over real NATS.

A small responder in the test plays the other service: it checks each request it gets and
answers as the control protocol says.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from tests.integration.test_gateway_harness import (
    client,
    gateway_settings,
    login,
    running,
)
from vitals_core import control, subjects
from vitals_gateway.service import Gateway

Answer = Callable[[Any], control.Reply]


class Responder:
    """Answers `vitals.control.<service>.<verb>` like the real service would."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.received: list[tuple[str, Any]] = []

    async def serve(self, service: str, verb: str, answer: Answer) -> None:
        verbs = control.ALERTER_VERBS if service == control.ALERTER else control.NOTIFIER_VERBS

        async def handle(msg: Msg) -> None:
            request = control.decode_request(verbs[verb], msg.data)
            self.received.append((verb, request))
            await msg.respond(control.encode(answer(request)))

        await self.nc.subscribe(subjects.control(service, verb), queue=service, cb=handle)
        await self.nc.flush()


@pytest.fixture
async def gw(nats_url: str, redis_url: str) -> AsyncIterator[Gateway]:
    settings = gateway_settings(nats_url, redis_url, control_timeout=0.5)
    async with running(settings, consume=False) as g:
        yield g


@pytest.fixture
async def responder(nats_url: str) -> AsyncIterator[Responder]:
    nc = await nats.connect(nats_url)
    yield Responder(nc)
    await nc.close()


async def test_alerter_requests_are_forwarded_with_who_asked(
    gw: Gateway, responder: Responder
) -> None:
    ok = control.Reply(ok=True, data={"done": True})
    await responder.serve(
        "alerter",
        "acknowledge",
        lambda r: (
            ok
            if r.alert_id == "cpu-web-1"
            else control.Reply(ok=False, not_found=True, error="no alert 'x'")
        ),
    )
    await responder.serve(
        "alerter", "silence_create", lambda r: control.Reply(ok=True, data={"id": "s1"})
    )
    await responder.serve(
        "alerter", "silence_list", lambda r: control.Reply(ok=True, data=[{"id": "s1"}])
    )
    await responder.serve("alerter", "silence_delete", lambda r: ok)
    await responder.serve(
        "alerter", "rule_list", lambda r: control.Reply(ok=True, data=[{"name": "cpu_high"}])
    )
    admin = await login(gw)
    before = time.time()
    async with client(gw, admin) as c:
        r = await c.post("/admin/system/alerts/cpu-web-1/acknowledge", json={"comment": "on it"})
        assert (r.status_code, r.json()) == (200, {"data": {"done": True}})
        r = await c.post("/admin/system/alerts/x/acknowledge")
        assert (r.status_code, r.json()) == (404, {"detail": "no alert 'x'"})

        silence = {
            "matchers": [{"name": "host", "value": "web-.*", "op": "=~"}],
            "duration": 3600,
            "comment": "maintenance",
        }
        r = await c.post("/admin/system/silences", json=silence)
        assert (r.status_code, r.json()) == (200, {"data": {"id": "s1"}})
        r = await c.post("/admin/system/silences", json={"matchers": [], "duration": 60})
        assert r.status_code == 422
        r = await c.post("/admin/system/silences", json={"matchers": silence["matchers"]})
        assert r.status_code == 422
        assert "ends_at or duration" in r.text
        assert (await c.get("/admin/system/silences")).json() == {"data": [{"id": "s1"}]}
        assert (await c.delete("/admin/system/silences/s1")).status_code == 200
        assert (await c.get("/admin/system/rules")).json() == {"data": [{"name": "cpu_high"}]}
        r = await c.get("/admin/system/alerts/history", params={"host": "web-1", "since": "24h"})
        assert r.status_code == 200

    got: dict[str, Any] = {}
    for verb, request in responder.received:
        got.setdefault(verb, request)
    ack = got["acknowledge"]
    assert (ack.alert_id, ack.by, ack.comment) == ("cpu-web-1", "admin", "on it")
    created = got["silence_create"]
    assert created.by == "admin"
    assert [(m.name, m.value, m.op) for m in created.matchers] == [("host", "web-.*", "=~")]
    assert created.ends_at - created.starts_at == 3600
    assert created.starts_at >= before
    assert got["silence_delete"] == control.DeleteSilence(id="s1", by="admin")
    assert got["silence_list"] == control.ListSilences(include_expired=False)
    assert "alert_history" not in got  # answered from the gateway's own store

    async with client(gw, admin) as c:
        audit = (await c.get("/admin/system/audit")).json()["entries"]
    actions = [(e["action"], e["target"]) for e in audit if e["action"] != "login"]
    assert ("alert.acknowledge", "cpu-web-1") in actions
    assert ("silence.delete", "s1") in actions


async def test_notifier_requests_are_forwarded(gw: Gateway, responder: Responder) -> None:
    await responder.serve(
        "notifier",
        "attempts_list",
        lambda r: control.Reply(ok=True, data=[{"receiver": r.receiver}]),
    )
    await responder.serve(
        "notifier", "dead_list", lambda r: control.Reply(ok=True, data=[{"id": "d1"}])
    )
    await responder.serve(
        "notifier",
        "dead_replay",
        lambda r: control.Reply(ok=False, error="dead letter d9 is gone", not_found=r.id == "d9"),
    )
    admin = await login(gw)
    async with client(gw, admin) as c:
        r = await c.get("/admin/system/notifications", params={"receiver": "ops-mail"})
        assert r.json() == {"data": [{"receiver": "ops-mail"}]}
        assert (await c.get("/admin/system/notifications/dead")).json() == {"data": [{"id": "d1"}]}
        r = await c.post("/admin/system/notifications/dead/d9/replay")
        assert (r.status_code, r.json()) == (404, {"detail": "dead letter d9 is gone"})
        r = await c.post("/admin/system/notifications/dead/d8/replay")
        assert r.status_code == 422
    replays = [r for verb, r in responder.received if verb == "dead_replay"]
    assert replays == [
        control.ReplayDeadLetter(id="d9", by="admin"),
        control.ReplayDeadLetter(id="d8", by="admin"),
    ]


async def test_no_responder_is_a_quick_clear_503(gw: Gateway, responder: Responder) -> None:
    admin = await login(gw)
    async with client(gw, admin) as c:
        started = time.monotonic()
        r = await c.post("/admin/system/alerts/a1/acknowledge")
        assert r.status_code == 503
        assert r.json() == {
            "detail": "the alerter is not running: nothing answers its requests on the bus"
        }
        assert time.monotonic() - started < gw.state.settings.gateway.control_timeout + 5
        r = await c.get("/admin/system/notifications/dead")
        assert r.status_code == 503
        assert "the notifier is not running" in r.json()["detail"]

        # Something that subscribes but never answers: a bounded wait, then 503.
        await responder.nc.subscribe(subjects.control("alerter", "rule_list"))
        await responder.nc.flush()
        r = await c.get("/admin/system/rules")
        assert (r.status_code, r.json()) == (
            503,
            {"detail": "the alerter did not answer within 0.5 s"},
        )

        # A reply that is not the protocol's.
        async def nonsense(msg: Msg) -> None:
            await msg.respond(msgspec.json.encode({"nonsense": True}))

        await responder.nc.subscribe(subjects.control("alerter", "silence_list"), cb=nonsense)
        await responder.nc.flush()
        r = await c.get("/admin/system/silences")
        assert r.status_code == 502
        assert r.json() == {"detail": "the alerter sent a reply the gateway cannot read"}
    assert gw.state.counters.get("control_unavailable") == 3
