"""A real notifier process delivering to real HTTP receivers: routes, grouping, signatures,
status classes, timeouts and the Alertmanager body."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
import nats
import pytest

from tests.helpers import Processes, eventually
from tests.integration.notifier_support import (
    OLD_SECRET,
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
from vitals_core import events, subjects


@pytest.fixture
async def rx() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


def hooks(rx: Receiver, *names: str, extra: str = "") -> str:
    """TOML for one webhook receiver per name, each at its own path on `rx`."""
    return "".join(
        f'[[notifier.receivers]]\nname = "{n}"\nkind = "webhook"\nurl = "{rx.url("/" + n)}"\n'
        f'secrets = ["{SECRET}"]\n{extra}\n'
        for n in names
    )


async def run_notifier(
    processes: Processes, env: dict[str, str], tmp_path: Path, tables: str, keys: str = ""
) -> None:
    """Start the notifier with `keys` (plain settings) and `tables` (receivers, routes)."""
    head = 'allow_private = ["127.0.0.1"]\ngroup_by = ["alert_id"]\n' + RETRY_FAST + keys
    config = write_config(tmp_path / "notifier.toml", head + tables)
    await start_notifier(processes, env | {"VITALS_CONFIG": str(config)})


def alert_ids(rx: Receiver, path: str) -> set[str]:
    return {e["alert_id"] for r in rx.delivered(path) for e in r.json()["events"]}


async def idle(nats_url: str) -> dict[str, Any]:
    """Wait until no receiver has a delivery queued or in flight; return the attempts data."""

    async def quiet() -> dict[str, Any] | None:
        data: dict[str, Any] = (await ask(nats_url, "attempts_list", limit=1000)).data
        return data if not any(data["pending"].values()) else None

    found: Any = await eventually(quiet, timeout=15)
    return dict(found)


ROUTES = """
[[notifier.routes]]
name = "audit"
receivers = ["audit"]
events = ["acknowledged"]
continue = true
[[notifier.routes]]
name = "critical"
receivers = ["pager"]
severity = ["critical"]
events = ["firing", "escalated"]
continue = true
[[notifier.routes]]
name = "gpu-ml"
receivers = ["ml"]
hosts = ["gpu-*"]
labels = {team = "ml"}
[[notifier.routes]]
name = "disks"
receivers = ["ops"]
rules = ["disk_*"]
matchers = [{name = "mount", op = "!~", value = "/mnt/.*"}]
"""


async def test_routes_and_continue_reach_the_right_receivers(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    names = ("audit", "pager", "ml", "ops", "rest")
    tables = hooks(rx, *names) + ROUTES
    await run_notifier(processes, service_env, tmp_path, tables, 'default_receivers = ["rest"]\n')
    cases = {
        "plain": (alert(alert_id="plain", severity="warning"), {"rest"}),
        "crit": (alert(alert_id="crit", severity="critical", host="web-1"), {"pager"}),
        "crit-ml": (alert(alert_id="crit-ml", host="gpu-2", labels={"team": "ml"}),
                    {"pager", "ml"}),
        "gpu-no-label": (alert(alert_id="gpu-no-label", severity="warning", host="gpu-2"),
                         {"rest"}),
        "disk": (alert(alert_id="disk", severity="warning", rule="disk_full",
                       labels={"mount": "/"}), {"ops"}),
        "disk-mnt": (alert(alert_id="disk-mnt", severity="warning", rule="disk_full",
                           labels={"mount": "/mnt/x"}), {"rest"}),
        "resolved": (alert(alert_id="resolved", event="resolved"), {"rest"}),
        "ack-ml": (alert(alert_id="ack-ml", event="acknowledged", host="gpu-1",
                         labels={"team": "ml"}), {"audit", "ml"}),
        "escalated": (alert(alert_id="escalated", event="escalated", receivers=["ops"]),
                      {"pager", "ops"}),
        "muted": (alert(alert_id="muted", event="silenced", silence_id="s1"), set()),
    }  # fmt: skip
    await publish(nats_url, *(item for item, _ in cases.values()))
    expected = {n: {a for a, (_, to) in cases.items() if n in to} for n in names}
    await eventually(lambda: all(alert_ids(rx, "/" + n) >= expected[n] for n in names), timeout=15)
    await idle(nats_url)
    assert {n: alert_ids(rx, "/" + n) for n in names} == expected


async def test_a_burst_is_grouped_into_one_message(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    toml = hooks(rx, "ops") + '[[notifier.routes]]\nreceivers = ["ops"]\ngroup_by = ["host"]\n'
    await run_notifier(processes, service_env, tmp_path, toml + "group_wait = 1.0\n")
    burst = [alert(host="gpu-1", rule=f"rule_{i}") for i in range(5)]
    await publish(nats_url, *burst, alert(host="gpu-2"))
    await eventually(lambda: len(rx.delivered("/ops")) >= 2, timeout=15)
    await idle(nats_url)
    bodies = {r.json()["group_labels"]["host"]: r.json() for r in rx.delivered("/ops")}
    assert len(rx.delivered("/ops")) == 2
    assert sorted(e["rule"] for e in bodies["gpu-1"]["events"]) == [f"rule_{i}" for i in range(5)]
    assert len(bodies["gpu-2"]["events"]) == 1
    assert bodies["gpu-1"]["group_key"] == 'ops/route-0:{host="gpu-1"}'


async def test_500_three_times_then_200_keeps_one_id_and_valid_signatures(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    rx.script["/ops"] = [Reply(500), Reply(500), Reply(500)]
    toml = hooks(rx, "ops").replace(f'["{SECRET}"]', f'["{SECRET}", "{OLD_SECRET}"]')
    await run_notifier(processes, service_env, tmp_path, toml)
    await publish(nats_url, alert())
    await eventually(lambda: rx.delivered("/ops"), timeout=15)
    tries = rx.at("/ops")
    assert [r.status for r in tries] == [500, 500, 500, 200]
    assert len({r.headers["webhook-id"] for r in tries}) == 1
    assert len({r.body for r in tries}) == 1
    for r in tries:
        # Either secret verifies alone: receivers can rotate at their own pace.
        assert verify([SECRET], r.headers, r.body)
        assert verify([OLD_SECRET], r.headers, r.body)
        assert not verify(["whsec_" + "A" * 32], r.headers, r.body)
    data = await idle(nats_url)
    mine = [a for a in data["attempts"] if a["id"] == tries[0].headers["webhook-id"]]
    assert [(a["attempt"], a["result"], a.get("status")) for a in mine] == [
        (1, "retry", 500), (2, "retry", 500), (3, "retry", 500), (4, "delivered", 200)
    ]  # fmt: skip


async def test_400_is_not_retried(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    rx.default["/ops"] = Reply(400)
    await run_notifier(processes, service_env, tmp_path, hooks(rx, "ops"))
    await publish(nats_url, alert())
    reply: Any = await eventually(lambda: _dead(nats_url), timeout=15)
    (letter,) = reply
    assert letter["status"] == 400
    assert "not retried: HTTP 400" in letter["reason"]
    assert letter["attempts"] == 1
    assert len(rx.at("/ops")) == 1


async def _dead(nats_url: str) -> list[dict[str, Any]]:
    data: dict[str, Any] = (await ask(nats_url, "dead_list")).data
    return list(data["dead"])


async def test_410_disables_the_endpoint_and_raises_an_alert(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    rx.default["/gone"] = Reply(410)
    toml = hooks(rx, "gone", "ops") + '[[notifier.routes]]\nreceivers = ["gone", "ops"]\n'
    await run_notifier(processes, service_env, tmp_path, toml)
    await publish(nats_url, alert(alert_id="first"))
    # The notifier's own alert comes back through the stream and reaches the other receiver.
    await eventually(lambda: "notifier-receiver-gone-gone" in alert_ids(rx, "/ops"), timeout=15)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    sub = await js.subscribe(subjects.ALERTS_ALL, ordered_consumer=True)
    gone = [events.decode((await sub.next_msg(timeout=5)).data) for _ in range(2)][-1]
    await nc.close()
    assert isinstance(gone, events.AlertEvent)
    assert (gone.rule, gone.severity, gone.labels["receiver"]) == (
        "notifier_receiver_gone", "critical", "gone"
    )  # fmt: skip
    await publish(nats_url, alert(alert_id="second"))
    await eventually(lambda: "second" in alert_ids(rx, "/ops"), timeout=15)
    await idle(nats_url)
    assert len(rx.at("/gone")) == 1
    letters = {d["alert_ids"][0]: d for d in await _dead(nats_url) if d["receiver"] == "gone"}
    # The alert about the receiver goes to the others only, not to its dead letters.
    assert set(letters) == {"first", "second"}
    assert all("receiver disabled" in d["reason"] for d in letters.values())
    data: Any = (await ask(nats_url, "attempts_list", receiver="gone")).data
    assert "gone" in data["disabled"]

    # The endpoint is back: replaying one of its dead letters re-enables it.
    rx.default["/gone"] = Reply(200)
    reply = await ask(nats_url, "dead_replay", id=letters["first"]["id"], by="admin")
    assert reply.ok, reply.error
    await eventually(lambda: alert_ids(rx, "/gone") == {"first"}, timeout=15)
    assert rx.delivered("/gone")[0].headers["webhook-id"] == letters["first"]["id"]
    await publish(nats_url, alert(alert_id="third"))
    await eventually(lambda: "third" in alert_ids(rx, "/gone"), timeout=15)
    assert (await idle(nats_url))["disabled"] == {}


async def test_a_malformed_event_is_counted_and_delivery_goes_on(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    await run_notifier(processes, service_env, tmp_path, hooks(rx, "ops"))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.publish(subjects.alerts("gpu-1"), b"{not json")
    await js.publish(subjects.alerts("gpu-1"), b'{"kind": "alert", "ts": 1}')
    await nc.close()
    await publish(nats_url, alert(alert_id="after"))
    await eventually(lambda: alert_ids(rx, "/ops") == {"after"}, timeout=15)
    counters = (await idle(nats_url))["counters"]
    assert counters["events_invalid"] == 2
    log = processes.log("notifier")
    assert "dropped a malformed event" in log
    # Logged at a bounded rate: the first with its reason, the second only counted.
    assert log.count("dropped a malformed event") == 1
    assert "JSON is malformed" in log


async def test_429_retry_after_is_honoured(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    rx.script["/ops"] = [Reply(429, {"Retry-After": "2"})]
    await run_notifier(processes, service_env, tmp_path, hooks(rx, "ops"))
    await publish(nats_url, alert())
    await eventually(lambda: rx.delivered("/ops"), timeout=15)
    first, second = rx.at("/ops")
    # Backoff alone would retry after 0.1 s.
    assert second.at - first.at >= 2.0
    attempts = (await idle(nats_url))["attempts"]
    assert attempts[0]["result"] == "retry"
    assert attempts[0]["next_at"] - attempts[0]["at"] == pytest.approx(2.0, abs=0.01)


async def test_a_hung_receiver_times_out_without_delaying_another(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    rx.default["/hung"] = Reply(200, delay=60)
    toml = hooks(rx, "hung", extra="timeout = 2.0\nconcurrency = 1") + hooks(rx, "ok")
    toml += '[[notifier.routes]]\nreceivers = ["hung", "ok"]\n'
    await run_notifier(processes, service_env, tmp_path, toml)
    await publish(nats_url, *(alert(alert_id=f"a{i}") for i in range(5)))
    await eventually(lambda: len(rx.delivered("/ok")) == 5, timeout=15)

    async def hung_timed_out() -> list[dict[str, Any]]:
        data: Any = (await ask(nats_url, "attempts_list", receiver="hung")).data
        return list(data["attempts"])

    timeouts: Any = await eventually(hung_timed_out, timeout=15)
    assert timeouts[0]["error"] == "no answer within 2s"
    assert timeouts[0]["result"] == "retry"
    assert timeouts[0]["latency_ms"] >= 2000
    # Every healthy delivery landed before the hung receiver's first attempt even ended.
    assert max(r.at for r in rx.delivered("/ok")) < timeouts[0]["at"]


class AmAlert(msgspec.Struct, forbid_unknown_fields=True):
    """Alertmanager's documented webhook fields (version 4), written from its docs."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str
    endsAt: str
    generatorURL: str
    fingerprint: str


class AmBody(msgspec.Struct, forbid_unknown_fields=True):
    version: Literal["4"]
    groupKey: str
    truncatedAlerts: int
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str]
    commonLabels: dict[str, str]
    commonAnnotations: dict[str, str]
    externalURL: str
    alerts: list[AmAlert]


async def test_alertmanager_body_validates_against_its_documented_fields(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path, rx: Receiver
) -> None:
    toml = hooks(rx, "am", extra='format = "alertmanager"')
    toml += '[[notifier.routes]]\nreceivers = ["am"]\ngroup_by = ["host"]\ngroup_wait = 0.5\n'
    await run_notifier(
        processes, service_env, tmp_path, toml, 'external_url = "https://vitals.example"\n'
    )
    now = time.time()
    await publish(
        nats_url,
        alert(alert_id="x", rule="disk_full", labels={"mount": "/"}, value=97.5, threshold=90.0),
        alert(alert_id="y", rule="cpu_high", event="resolved", resolved_at=now),
    )
    await eventually(lambda: rx.delivered("/am"), timeout=15)
    body = msgspec.json.decode(rx.delivered("/am")[0].body, type=AmBody)
    assert body.status == "firing"
    assert body.receiver == "am"
    assert body.groupLabels == {"host": "gpu-1"}
    assert body.commonLabels == {"host": "gpu-1", "severity": "critical"}
    by_name = {a.labels["alertname"]: a for a in body.alerts}
    assert by_name["cpu_high"].status == "resolved"
    assert by_name["disk_full"].endsAt == "0001-01-01T00:00:00Z"
    assert by_name["disk_full"].annotations["value"] == "97.5"
    for a in body.alerts:
        datetime.fromisoformat(a.startsAt.replace("Z", "+00:00"))
        assert a.generatorURL.startswith("https://vitals.example/alerts/")
        assert len(a.fingerprint) == 16
    assert verify([SECRET], rx.delivered("/am")[0].headers, rx.delivered("/am")[0].body)


async def test_the_receiver_counts_a_request_cut_off_mid_body_and_records_nothing(
    rx: Receiver,
) -> None:
    # What a notifier killed while sending leaves: headers and part of the body, then EOF.
    _reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
    writer.write(b'POST /ops HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"events": [')
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await eventually(lambda: rx.aborted == 1, timeout=10)
    assert rx.requests == []
