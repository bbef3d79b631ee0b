"""What a group's flush sends, against a real notifier process and real HTTP receivers:
muting decided at flush time, no RESOLVED for an alert nobody was told about, reminders on
the alerter's clock (also after an escalation), a dead letter raising an alert of its own,
and Alertmanager-format receivers getting the whole group in every message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from tests.helpers import Processes, eventually
from tests.integration.notifier_support import (
    RETRY_FAST,
    SECRET,
    Receiver,
    Reply,
    alert,
    ask,
    publish,
    start_notifier,
    write_config,
)
from tests.integration.test_gateway_harness import client, gateway, login
from vitals_core import events, subjects
from vitals_gateway.service import Gateway

__all__ = ["gateway"]

# The alerter numbers an alert's episode by when it fired: the same on all its events.
FIRED = time.time() - 300


@pytest.fixture
async def rx() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


def hook(rx: Receiver, name: str, extra: str = "") -> str:
    return (
        f'[[notifier.receivers]]\nname = "{name}"\nkind = "webhook"\n'
        f'url = "{rx.url("/" + name)}"\nsecrets = ["{SECRET}"]\n{extra}\n'
    )


def route(*receivers: str, wait: float, interval: float, by: str = '["host"]') -> str:
    names = ", ".join(f'"{r}"' for r in receivers)
    return (
        f"[[notifier.routes]]\nreceivers = [{names}]\ngroup_by = {by}\n"
        f"group_wait = {wait}\ngroup_interval = {interval}\n"
    )


async def run_notifier(
    processes: Processes, env: dict[str, str], tmp_path: Path, tables: str, keys: str = ""
) -> None:
    head = 'allow_private = ["127.0.0.1"]\n' + RETRY_FAST + keys
    config = write_config(tmp_path / "notifier.toml", head + tables)
    await start_notifier(processes, env | {"VITALS_CONFIG": str(config)})


def entries(rx: Receiver, path: str) -> list[list[tuple[str, str]]]:
    """Per delivered message, its (alert_id, event) pairs."""
    return [[(e["alert_id"], e["event"]) for e in r.json()["events"]] for r in rx.delivered(path)]


async def counters(nats_url: str) -> dict[str, int]:
    data: dict[str, Any] = (await ask(nats_url, "attempts_list", limit=1)).data
    return dict(data["counters"])


async def idle(nats_url: str) -> None:
    async def quiet() -> bool:
        data: dict[str, Any] = (await ask(nats_url, "attempts_list", limit=1)).data
        return not any(data["pending"].values())

    await eventually(quiet, timeout=15)


def on(alert_id: str, event: str = "firing", **extra: Any) -> events.AlertEvent:
    fields: dict[str, Any] = {"rule": alert_id, "started_at": FIRED} | extra
    return alert(alert_id=alert_id, event=event, **fields)


@pytest.mark.parametrize("mute", ["silence", "inhibition", "acknowledgement"])
async def test_a_mute_during_group_wait_stops_the_page(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    rx: Receiver, mute: str,
) -> None:  # fmt: skip
    tables = hook(rx, "ops") + route("ops", wait=2.0, interval=1.0)
    if mute == "acknowledgement":
        # A pager route: acknowledgements go elsewhere (or nowhere).
        tables += 'events = ["firing"]\n'
    await run_notifier(processes, service_env, tmp_path, tables)
    await publish(nats_url, on("disk_full"))
    await asyncio.sleep(0.2)
    if mute == "silence":
        # Silenced 0.2 s after it fired; another alert of the host still pages.
        await publish(nats_url, on("disk_full", "silenced", silence_id="s1"), on("cpu_high"))
        expected = "cpu_high"
    elif mute == "acknowledgement":
        ack = on("disk_full", "acknowledged", acknowledged_by="ann")
        await publish(nats_url, ack, on("cpu_high"))
        expected = "cpu_high"
    else:
        # The host went down: its disk alert is inhibited (the alerter says `silenced`).
        await publish(
            nats_url, on("host_down"), on("disk_full", "silenced", inhibited_by="host_down")
        )
        expected = "host_down"
    await eventually(lambda: rx.delivered("/ops"), timeout=15)
    await idle(nats_url)
    assert entries(rx, "/ops") == [[(expected, "firing")]]
    counter = "acknowledged_at_flush" if mute == "acknowledgement" else "muted_at_flush"
    assert (await counters(nats_url))[counter] == 1


async def test_an_alert_that_fires_and_resolves_within_group_wait_sends_nothing(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    rx: Receiver,
) -> None:  # fmt: skip
    tables = hook(rx, "ops") + route("ops", wait=1.5, interval=1.0, by='["alert_id"]')
    await run_notifier(processes, service_env, tmp_path, tables)
    await publish(nats_url, on("blip"), on("stays"))
    await asyncio.sleep(0.2)
    await publish(nats_url, on("blip", "resolved", resolved_at=time.time()))
    await eventually(lambda: rx.delivered("/ops"), timeout=15)
    await eventually(lambda: _counter(nats_url, "never_notified"), timeout=15)
    await idle(nats_url)
    assert entries(rx, "/ops") == [[("stays", "firing")]]
    # A resolve of an alert the receiver was told about is still sent.
    await publish(nats_url, on("stays", "resolved", resolved_at=time.time()))
    await eventually(lambda: len(rx.delivered("/ops")) == 2, timeout=15)
    assert entries(rx, "/ops")[1] == [("stays", "resolved")]


async def _counter(nats_url: str, name: str) -> int:
    return (await counters(nats_url)).get(name, 0)


async def test_reminders_keep_the_alerters_interval_also_after_an_escalation(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    rx: Receiver,
) -> None:  # fmt: skip
    # Both repeat intervals at 2 s: the alerter's clock (simulated here) owns it.
    repeat, wait, interval = 2.0, 0.5, 1.0
    tables = hook(rx, "ops") + route("ops", wait=wait, interval=interval)
    await run_notifier(processes, service_env, tmp_path, tables, f"repeat_interval = {repeat}\n")
    plan = [
        (0.0, on("disk", severity="warning")),
        (repeat, on("disk", "reminder", severity="warning")),
        # After the reminder's message (a step in the same wait would replace it).
        (repeat + 1.5, on("disk", "escalated", escalation_step=1)),
        (2 * repeat + 1.5, on("disk", "reminder")),
        (3 * repeat + 1.5, on("disk", "reminder")),
    ]
    start = time.monotonic()
    sent_at = []
    for at, event in plan:
        await asyncio.sleep(max(0.0, start + at - time.monotonic()))
        sent_at.append(time.time())
        await publish(nats_url, msgspec.structs.replace(event, ts=time.time()))
    await eventually(lambda: len(rx.delivered("/ops")) >= len(plan), timeout=15)
    await idle(nats_url)
    kinds = [[kind for _, kind in message] for message in entries(rx, "/ops")]
    assert kinds == [["firing"], ["reminder"], ["escalated"], ["reminder"], ["reminder"]]
    # Each reaches the receiver within group_wait + group_interval of the alerter's clock
    # (plus a generous margin for a loaded machine), none dropped.
    for sent, got in zip(sent_at, rx.delivered("/ops"), strict=True):
        assert got.at - sent < wait + interval + 2.0
    assert (await counters(nats_url)).get("reminders_suppressed", 0) == 0


async def test_a_dead_letter_raises_an_alert_for_the_other_receivers(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    rx: Receiver,
) -> None:  # fmt: skip
    rx.default["/bad"] = Reply(400)
    tables = hook(rx, "bad") + hook(rx, "ops") + route("bad", "ops", wait=0.0, interval=0.0)
    await run_notifier(processes, service_env, tmp_path, tables)
    nc = await nats.connect(nats_url)
    sub = await nc.jetstream().subscribe(subjects.ALERTS_ALL, ordered_consumer=True)
    try:
        await publish(nats_url, on("first"))
        raised = "notifier-dead-letter-bad"

        def told(kind: str) -> bool:
            return any((raised, kind) in m for m in entries(rx, "/ops"))

        await eventually(lambda: told("firing"), timeout=15)
        # A second dead letter of the same receiver joins the same alert, with its error.
        rx.default["/bad"] = Reply(422)
        await publish(nats_url, on("second"))
        await eventually(lambda: len(rx.at("/bad")) == 2, timeout=15)

        async def two_letters() -> bool:
            return await _counter(nats_url, "dead_letters") == 2

        await eventually(two_letters, timeout=15)
        # The receiver works again: its next delivery resolves the alert.
        rx.default["/bad"] = Reply(200)
        await publish(nats_url, on("third"))
        await eventually(lambda: told("resolved"), timeout=15)
        await idle(nats_url)
        mine: list[events.AlertEvent] = []
        while len(mine) < 3:
            event = events.decode((await sub.next_msg(timeout=5)).data)
            if isinstance(event, events.AlertEvent) and event.alert_id == raised:
                mine.append(event)
    finally:
        await nc.close()
    firing, update, resolved = mine
    assert (firing.event, firing.rule, firing.labels["receiver"]) == (
        "firing", "notifier_dead_letter", "bad"
    )  # fmt: skip
    assert firing.description.startswith("not retried: HTTP 400")
    assert (update.event, update.started_at) == ("firing", firing.started_at)
    assert update.description.startswith("2 messages so far; the last: not retried: HTTP 422")
    assert resolved.event == "resolved"
    assert "the last: not retried: HTTP 422" in resolved.description
    # Never sent to the receiver it is about; one page for both dead letters.
    assert all(r.json()["events"][0]["alert_id"] != raised for r in rx.at("/bad"))
    assert [kind for m in entries(rx, "/ops") for a, kind in m if a == raised] == [
        "firing", "resolved"
    ]  # fmt: skip


async def test_a_dead_letter_alert_shows_on_the_dashboard(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    rx: Receiver, gateway: Gateway,
) -> None:  # fmt: skip
    rx.default["/bad"] = Reply(503)
    tables = hook(rx, "bad") + hook(rx, "ops") + route("bad", "ops", wait=0.0, interval=0.0)
    await run_notifier(processes, service_env, tmp_path, tables, "retry_max_attempts = 2\n")
    await publish(nats_url, on("first"))
    token = await login(gateway)

    async def shown(**params: str) -> list[dict[str, Any]]:
        async with client(gateway, token) as c:
            r = await c.get("/admin/system/alerts", params=params)
        assert r.status_code == 200, r.text
        return [a for a in r.json()["alerts"] if a["rule"] == "notifier_dead_letter"]

    found: Any = await eventually(shown, timeout=15)
    (raised,) = found
    assert (raised["event"], raised["severity"], raised["labels"]["receiver"]) == (
        "firing", "critical", "bad"
    )  # fmt: skip
    assert "gave up after 2 attempts; last error: HTTP 503" in raised["description"]
    # Another error: the dashboard shows the last one.
    rx.default["/bad"] = Reply(400)
    await publish(nats_url, on("second"))

    async def last_error() -> bool:
        return any("the last: not retried: HTTP 400" in a["description"] for a in await shown())

    await eventually(last_error, timeout=15)
    rx.default["/bad"] = Reply(200)
    await publish(nats_url, on("third"))

    async def cleared() -> bool:
        return not await shown() and bool(await shown(since="1h", state="resolved"))

    await eventually(cleared, timeout=15)


async def test_alertmanager_receivers_get_the_whole_group_in_every_message(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    rx: Receiver,
) -> None:  # fmt: skip
    tables = hook(rx, "am", 'format = "alertmanager"') + hook(rx, "native")
    tables += route("am", "native", wait=0.5, interval=0.5)
    await run_notifier(processes, service_env, tmp_path, tables)
    await publish(nats_url, on("a"), on("b"))
    await eventually(lambda: len(rx.delivered("/am")) == 1, timeout=15)
    await eventually(lambda: len(rx.delivered("/native")) == 1, timeout=15)
    await publish(nats_url, on("a", "resolved", resolved_at=time.time()))
    # Each receiver's group may sit in another partition, read by its own consumer: wait
    # for both before the next change, so that each message holds one change.
    await eventually(lambda: len(rx.delivered("/am")) == 2, timeout=15)
    await eventually(lambda: len(rx.delivered("/native")) == 2, timeout=15)
    await publish(nats_url, on("b", "resolved", resolved_at=time.time()))
    await eventually(lambda: len(rx.delivered("/am")) == 3, timeout=15)
    await eventually(lambda: len(rx.delivered("/native")) == 3, timeout=15)
    await idle(nats_url)

    def alerts(body: dict[str, Any]) -> set[tuple[str, str]]:
        return {(a["labels"]["alertname"], a["status"]) for a in body["alerts"]}

    bodies = [r.json() for r in rx.delivered("/am")]
    assert [alerts(b) for b in bodies] == [
        {("a", "firing"), ("b", "firing")},
        {("a", "resolved"), ("b", "firing")},
        {("b", "resolved")},
    ]
    assert [b["status"] for b in bodies] == ["firing", "firing", "resolved"]
    # The native format carries what changed.
    assert [sorted(m) for m in entries(rx, "/native")] == [
        [("a", "firing"), ("b", "firing")], [("a", "resolved")], [("b", "resolved")]
    ]  # fmt: skip
