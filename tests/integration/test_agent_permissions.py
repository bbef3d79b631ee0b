"""One agent's credentials reach its own host's subjects and nothing else.

The server runs with the permissions documented in deploy/nats/ (tests/nats_auth.py). A
services connection consumes the telemetry stream the way the gateway and the alerter do
while a client holding agent A's credentials tries to read host B's samples, to ask the
JetStream API, and to publish as host B; the agent process itself publishes with acks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import msgspec
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig

from tests.helpers import Processes, eventually
from tests.nats_auth import (
    SERVICES_PASSWORD,
    SERVICES_USER,
    DocumentedNats,
    agent_password,
    agent_user,
)
from vitals_core import bus, subjects
from vitals_core.settings import NatsSettings

HOST_A, HOST_B = "web-a", "web-b"


@pytest.fixture
def documented(tmp_path: Path) -> Iterator[DocumentedNats]:
    server = DocumentedNats(tmp_path / "nats", [HOST_A, HOST_B])
    server.start()
    yield server
    server.stop()


def services_settings(server: DocumentedNats) -> NatsSettings:
    return NatsSettings(url=server.url, user=SERVICES_USER, password=SERVICES_PASSWORD)


def sample_of(host: str, seq: int) -> bytes:
    # The stream does not read what it stores; the test only needs to tell them apart.
    return msgspec.json.encode({"host": host, "seq": seq})


async def test_an_agent_reads_and_asks_nothing_beyond_its_own_host(
    documented: DocumentedNats, service_env: dict[str, str], processes: Processes
) -> None:
    services = await bus.connect(services_settings(documented), "test-services")
    js = services.jetstream()
    await bus.ensure_streams(js)
    # A consumer like the gateway's: every host's samples, delivered to a services inbox.
    await js.add_consumer(subjects.STREAM_TELEMETRY, ConsumerConfig(durable_name="reader"))
    consumer = await js.pull_subscribe_bind("reader", subjects.STREAM_TELEMETRY)
    consumed: list[str] = []

    async def consume() -> None:
        while True:
            try:
                for msg in await consumer.fetch(50, timeout=0.5):
                    consumed.append(msg.subject)
                    await msg.ack()
            except nats.errors.TimeoutError:
                pass

    reading = asyncio.create_task(consume())
    agent = processes.service("agent", service_env | {
        "VITALS_NATS_URL": documented.url,
        "VITALS_NATS_USER": agent_user(HOST_A),
        "VITALS_NATS_PASSWORD": agent_password(HOST_A),
        "VITALS_AGENT_HOST": HOST_A,
        "VITALS_AGENT_INTERVAL": "1",
    })  # fmt: skip
    attacker: Client | None = None
    try:
        # The agent publishes with acks (stored, so acknowledged) under the documented rules.
        await eventually(lambda: consumed.count(subjects.metrics(HOST_A)) >= 2, timeout=30)
        assert agent.poll() is None, processes.log("agent")
        log = processes.log("agent")
        assert "refused" not in log, log
        assert "violation" not in log.lower(), log
        # It asked for nothing it may not have: the server logged no violation.
        assert "violation" not in documented.server_log().lower()

        errors: list[str] = []
        stolen: list[Msg] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc).lower())

        async def steal(msg: Msg) -> None:
            stolen.append(msg)

        attacker = await nats.connect(
            documented.url, user=agent_user(HOST_A), password=agent_password(HOST_A),
            inbox_prefix=subjects.agent_inbox(HOST_A), error_cb=on_error,
            allow_reconnect=False,
        )  # fmt: skip
        for pattern in ("_INBOX.>", f"{subjects.SERVICES_INBOX}.>", "$JS.>", ">"):
            await attacker.subscribe(pattern, cb=steal)
        await attacker.subscribe(subjects.metrics(HOST_B), cb=steal)
        await attacker.flush()
        b_before = consumed.count(subjects.metrics(HOST_B))
        for seq in range(1, 11):
            await js.publish(subjects.metrics(HOST_B), sample_of(HOST_B, seq))
        await eventually(lambda: consumed.count(subjects.metrics(HOST_B)) >= b_before + 10)

        # The JetStream API does not answer agents, and host B's subjects take nothing.
        info = subjects.STREAM_TELEMETRY
        with pytest.raises(nats.errors.TimeoutError):
            await attacker.request(f"$JS.API.STREAM.INFO.{info}", b"", timeout=1)
        with pytest.raises(nats.errors.TimeoutError):
            await attacker.request(subjects.metrics(HOST_B), sample_of(HOST_B, 99), timeout=1)
        with pytest.raises(nats.errors.TimeoutError):
            await attacker.request(subjects.alerts(HOST_A), b"{}", timeout=1)
        await asyncio.sleep(0.5)

        assert stolen == [], [m.subject for m in stolen]
        for refused in (
            'subscription to "_inbox.>"',
            f'subscription to "{subjects.SERVICES_INBOX.lower()}.>"',
            'subscription to "$js.>"',
            'subscription to ">"',
            f'subscription to "{subjects.metrics(HOST_B)}"',
            f'publish to "$js.api.stream.info.{info.lower()}"',
            f'publish to "{subjects.metrics(HOST_B)}"',
            f'publish to "{subjects.alerts(HOST_A)}"',
        ):
            assert any(refused in e for e in errors), (refused, errors)
        stored_b = await js.stream_info(
            subjects.STREAM_TELEMETRY, subjects_filter=subjects.metrics(HOST_B)
        )
        assert (stored_b.state.subjects or {}).get(subjects.metrics(HOST_B)) == 10
        last = await js.get_last_msg(subjects.STREAM_TELEMETRY, subjects.metrics(HOST_B))
        assert msgspec.json.decode(last.data or b"{}")["seq"] == 10
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        if attacker is not None:
            await attacker.close()
        await services.close()


async def test_services_receive_on_their_own_inbox_prefix(documented: DocumentedNats) -> None:
    nc = await bus.connect(services_settings(documented), "test-services")
    try:
        assert nc.new_inbox().startswith(f"{subjects.SERVICES_INBOX}.test-services.")
        js = nc.jetstream()
        await bus.ensure_streams(js)  # requests, answered on the services' inbox
        assert (await js.stream_info(subjects.STREAM_TELEMETRY)).config.name
    finally:
        await nc.close()


async def test_an_agent_waits_for_the_streams_and_then_publishes(
    documented: DocumentedNats, service_env: dict[str, str], processes: Processes
) -> None:
    """Agents never create streams: theirs wait in the outbox until the services do."""
    agent = processes.service("agent", service_env | {
        "VITALS_NATS_URL": documented.url,
        "VITALS_NATS_USER": agent_user(HOST_B),
        "VITALS_NATS_PASSWORD": agent_password(HOST_B),
        "VITALS_AGENT_HOST": HOST_B,
        "VITALS_AGENT_INTERVAL": "1",
    })  # fmt: skip
    await eventually(lambda: "no stream" in processes.log("agent"), timeout=20)
    nc = await bus.connect(services_settings(documented), "test-services")
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js)

        async def first_sample_stored() -> bool:
            assert agent.poll() is None, processes.log("agent")
            try:
                msg = await js.get_last_msg(subjects.STREAM_TELEMETRY, subjects.metrics(HOST_B))
            except nats.js.errors.NotFoundError:
                return False
            return bool(msg.data)

        await eventually(first_sample_stored, timeout=20, interval=0.3)
        seqs = []
        info = await js.stream_info(subjects.STREAM_TELEMETRY)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(subjects.STREAM_TELEMETRY, seq)
            if msg.subject == subjects.metrics(HOST_B) and msg.data:
                seqs.append(msgspec.json.decode(msg.data)["seq"])
        # What was collected while no stream existed was kept, in order, and stored once.
        assert seqs
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        await nc.close()
    assert "violation" not in documented.server_log().lower()
