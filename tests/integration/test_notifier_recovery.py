"""Nothing lost: a notifier killed mid-delivery or mid-group re-delivers after restart;
dead letters are listed and replayed with their webhook-id over the control subjects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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
    verify,
    write_config,
)
from vitals_core import subjects


@pytest.fixture
async def rx() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


def env_for(env: dict[str, str], tmp_path: Path, rx: Receiver, extra: str = "") -> dict[str, str]:
    toml = (
        f'allow_private = ["127.0.0.1"]\nwebhook_url = "{rx.url("/ops")}"\n'
        f'webhook_secret = "{SECRET}"\ntimeout = 30\n' + RETRY_FAST + extra
    )
    name = f"notifier-{len(list(tmp_path.glob('notifier-*.toml')))}.toml"
    return env | {"VITALS_CONFIG": str(write_config(tmp_path / name, toml))}


async def test_killed_mid_delivery_redelivers_after_restart(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    rx.default["/ops"] = Reply(200, delay=60)
    proc = await start_notifier(processes, env_for(service_env, tmp_path, rx))
    await publish(nats_url, alert())
    await eventually(lambda: rx.at("/ops"), timeout=15)
    proc.kill()
    proc.wait()
    rx.default["/ops"] = Reply(200)
    await start_notifier(processes, env_for(service_env, tmp_path, rx))
    await eventually(lambda: rx.delivered("/ops"), timeout=15)
    first, again = rx.at("/ops")
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert again.body == first.body
    assert verify([SECRET], again.headers, again.body)


async def test_killed_while_an_event_waits_in_its_group_redelivers_after_restart(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    # group_wait 30 s: the event is held, unacknowledged, when the notifier dies.
    slow = env_for(service_env, tmp_path, rx).copy()
    slow["VITALS_NOTIFIER_GROUP_WAIT"] = "30"
    proc = await start_notifier(processes, slow)
    await publish(nats_url, alert(alert_id="held"))

    async def held() -> bool:
        nc = await nats.connect(nats_url)
        infos = await nc.jetstream().consumers_info(subjects.STREAM_EVENTS)
        await nc.close()
        # Held by the one partition whose groups it joined.
        return sum(i.num_ack_pending or 0 for i in infos) == 1

    await eventually(held, timeout=15)
    proc.kill()
    proc.wait()
    assert rx.requests == []
    await start_notifier(processes, env_for(service_env, tmp_path, rx))
    # JetStream redelivers once the dead notifier's ack_wait (3 s here) runs out.
    await eventually(lambda: rx.delivered("/ops"), timeout=20)
    (delivery,) = rx.delivered("/ops")
    assert [e["alert_id"] for e in delivery.json()["events"]] == ["held"]


async def test_dead_letter_then_replay_with_the_same_webhook_id(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    rx.script["/ops"] = [Reply(400)]
    await start_notifier(processes, env_for(service_env, tmp_path, rx))
    await publish(nats_url, alert(alert_id="bounced"))

    async def dead() -> list[dict[str, Any]]:
        reply = await ask(nats_url, "dead_list")
        assert reply.ok, reply.error
        return list(reply.data["dead"])

    found: Any = await eventually(dead, timeout=15)
    (letter,) = found
    assert (letter["receiver"], letter["alert_ids"], letter["status"]) == (
        "webhook",
        ["bounced"],
        400,
    )
    (rejected,) = rx.at("/ops")
    assert letter["id"] == rejected.headers["webhook-id"]

    reply = await ask(nats_url, "dead_replay", id=letter["id"], by="admin")
    assert reply.ok
    assert reply.data == {"id": letter["id"], "receiver": "webhook", "replayed": True}
    await eventually(lambda: rx.delivered("/ops"), timeout=15)
    (replayed,) = rx.delivered("/ops")
    assert replayed.headers["webhook-id"] == letter["id"]
    assert verify([SECRET], replayed.headers, replayed.body)
    assert await dead() == []

    again = await ask(nats_url, "dead_replay", id=letter["id"], by="admin")
    assert (again.ok, again.not_found) == (False, True)
    bad = await ask(nats_url, "dead_replay", id=letter["id"])
    assert not bad.ok
    assert "missing required field `by`" in bad.error
    attempts = (await ask(nats_url, "attempts_list", receiver="webhook")).data["attempts"]
    mine = [(a["attempt"], a["result"], a["status"]) for a in attempts if a["id"] == letter["id"]]
    assert mine == [(1, "dead", 400), (1, "delivered", 200)]
