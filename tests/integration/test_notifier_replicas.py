"""Two notifier replicas share the groups by lease; a killed one's groups and retries move
to the other within a few seconds, re-sent (if at all) with the same webhook-id."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest

from tests.helpers import Processes, eventually
from tests.integration.notifier_support import (
    RETRY_FAST,
    SECRET,
    Receiver,
    Reply,
    alert,
    publish,
    write_config,
)
from vitals_core import subjects

LEASE_S = 2.0

pytestmark = pytest.mark.slow


@pytest.fixture
async def rx() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


def notifier_env(env: dict[str, str], tmp_path: Path, rx: Receiver) -> dict[str, str]:
    toml = (
        f'allow_private = ["127.0.0.1"]\nwebhook_url = "{rx.url("/ops")}"\n'
        f'webhook_secret = "{SECRET}"\ntimeout = 30\nlease = {LEASE_S}\n' + RETRY_FAST
    )
    return env | {"VITALS_CONFIG": str(write_config(tmp_path / "notifier.toml", toml))}


def start(processes: Processes, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return processes.start(name, [sys.executable, "-m", "vitals_notifier"], env)


async def owners(nats_url: str) -> Counter[str]:
    """How many partitions each replica holds a lease on."""
    nc = await nats.connect(nats_url)
    try:
        kv = await nc.jetstream().key_value(subjects.KV_NOTIFIER_LEASES)
        out: Counter[str] = Counter()
        for key in await kv.keys():
            if key.startswith("lease."):
                entry = await kv.get(key)
                if entry.value:
                    out[entry.value.decode()] += 1
        return out
    except Exception:
        return Counter()  # no bucket or no keys yet
    finally:
        await nc.close()


def delivered_ids(rx: Receiver) -> dict[str, set[str]]:
    """webhook-id -> the alert ids it carried, over every 2xx delivery."""
    out: dict[str, set[str]] = {}
    for r in rx.delivered("/ops"):
        out.setdefault(r.headers["webhook-id"], set()).update(
            e["alert_id"] for e in r.json()["events"]
        )
    return out


async def shared_by_two(nats_url: str, procs: list[subprocess.Popen[bytes]]) -> Counter[str]:
    async def split() -> Counter[str] | None:
        for proc in procs:
            assert proc.poll() is None
        got = await owners(nats_url)
        return got if sorted(got.values()) == [4, 4] else None

    result = await eventually(split, timeout=30, interval=0.2)
    assert isinstance(result, Counter)
    return result


async def test_two_replicas_share_the_groups_and_send_each_once(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    env = notifier_env(service_env, tmp_path, rx)
    procs = [start(processes, "notifier-a", env), start(processes, "notifier-b", env)]
    await shared_by_two(nats_url, procs)

    # One group per host (group_by = host): 24 groups over the 8 partitions.
    alerts = [alert(host=f"h{i}", alert_id=f"a{i}") for i in range(24)]
    await publish(nats_url, *alerts)
    await eventually(lambda: len(rx.delivered("/ops")) >= 24, timeout=30)
    sent = delivered_ids(rx)
    assert sorted(set().union(*sent.values())) == sorted(a.alert_id for a in alerts)
    assert len(rx.delivered("/ops")) == len(sent) == 24  # each once, no duplicate


async def test_a_killed_replicas_groups_and_retries_are_taken_over(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    rx.default["/ops"] = Reply(500)  # every delivery waits in its replica's retries
    env = notifier_env(service_env, tmp_path, rx)
    procs = [start(processes, "notifier-a", env), start(processes, "notifier-b", env)]
    before = await shared_by_two(nats_url, procs)

    alerts = [alert(host=f"h{i}", alert_id=f"a{i}") for i in range(24)]
    await publish(nats_url, *alerts)

    def tried() -> bool:
        seen = {e["alert_id"] for r in rx.at("/ops") for e in r.json()["events"]}
        return len(seen) == 24

    await eventually(tried, timeout=30)
    procs[0].kill()
    procs[0].wait()
    rx.default["/ops"] = Reply(200)
    later = [alert(host=f"h{i}", alert_id=f"b{i}") for i in range(24)]
    await publish(nats_url, *later)

    # The survivor takes every partition up once the dead one's leases lapse ...
    async def all_to_b() -> bool:
        assert procs[1].poll() is None
        return sorted((await owners(nats_url)).values()) == [8]

    await eventually(all_to_b, timeout=4 * LEASE_S + 10, interval=0.2)
    # ... and delivers every group: the dead replica's retries and its new events too.
    wanted = {a.alert_id for a in alerts + later}

    def all_delivered() -> bool:
        return set().union(*delivered_ids(rx).values()) == wanted

    try:
        await eventually(all_delivered, timeout=60)
    except AssertionError:
        got = set().union(*delivered_ids(rx).values())
        requests = [(r.status, [e["alert_id"] for e in r.json()["events"]]) for r in rx.at("/ops")]
        raise AssertionError(
            f"missing {sorted(wanted - got)}, unexpected {sorted(got - wanted)}; "
            f"requests in order (status, alerts): {requests}"
        ) from None

    sent = delivered_ids(rx)
    assert len(sent) == 48  # one webhook-id per group and flush: a resend keeps its id
    bodies: dict[str, set[bytes]] = {}
    for r in rx.at("/ops"):
        bodies.setdefault(r.headers["webhook-id"], set()).add(r.body)
    assert all(len(b) == 1 for b in bodies.values())  # the same id always has the same body
    assert len(before) == 2


async def test_a_killed_replicas_held_group_is_sent_by_the_other(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    env = notifier_env(service_env, tmp_path, rx) | {"VITALS_NOTIFIER_GROUP_WAIT": "5"}
    procs = {name: start(processes, name, env) for name in ("notifier-a", "notifier-b")}
    await shared_by_two(nats_url, list(procs.values()))
    await publish(nats_url, alert(alert_id="held"))

    # The replica holding the event in its group (unacknowledged on its partition's consumer).
    async def holder() -> str | None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        try:
            for info in await js.consumers_info(subjects.STREAM_EVENTS):
                if info.num_ack_pending:
                    partition = str(info.name).rsplit("-p", 1)[1]
                    kv = await js.key_value(subjects.KV_NOTIFIER_LEASES)
                    entry = await kv.get(f"lease.{partition}")
                    return (entry.value or b"").decode()
            return None
        finally:
            await nc.close()

    replica = await eventually(holder, timeout=15, interval=0.1)
    [name] = [n for n in procs if f"replica {replica}:" in processes.log(n)]
    assert rx.requests == []
    procs[name].kill()
    procs[name].wait()

    # The other gets it back after ack_wait (3 s here), waits out its group, and sends it.
    await eventually(lambda: rx.delivered("/ops"), timeout=30)
    (delivery,) = rx.delivered("/ops")
    assert [e["alert_id"] for e in delivery.json()["events"]] == ["held"]
