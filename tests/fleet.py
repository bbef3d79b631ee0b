"""A whole fleet on a NATS cluster, for the fleet failover test and `make bench-failover`.

Real processes: agents (one per host name, 1 s, one HTTP check each), alerters, notifiers
and gateways, every stream and bucket at `replicas`. One real HTTP server on loopback
answers the agents' checks (`/health/<host>`: 200, or 503 while the host is in `failing`)
and receives the notifier's webhooks (`/ops`). Setting `failing` makes hosts cross the
`check_failed` threshold at once, so a test can ask how soon after a kill an alert fires.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from tests.helpers import Processes, eventually
from tests.integration.notifier_support import SECRET, Receiver, Reply, Request
from vitals_core import control, events, subjects
from vitals_core.events import AlertEvent, MetricSample
from vitals_servers import free_port

CHECK = "svc"
RULE = "check_failed"


def services_toml(webhook: str, lease: float) -> str:
    """The alerter's and notifier's settings: short leases, a check rule without `for`."""
    off = "".join(
        f'[[alerter.rules]]\nname = "{name}"\nmetric = "{metric}"\nwarning = 1\nenabled = false\n\n'
        for name, metric in (("cpu_high", "cpu.percent"), ("memory_high", "memory.percent"),
                             ("disk_full", "disk.percent"))
    )  # fmt: skip
    return (
        f"[alerter]\ntick_interval = 0.2\nrepeat_interval = 0\nlease = {lease}\n\n"
        f'[[alerter.rules]]\nname = "{RULE}"\nmetric = "check.up"\nop = "below"\n'
        "warning = 0.5\n\n" + off + "[notifier]\n"
        f'allow_private = ["127.0.0.1"]\nwebhook_url = "{webhook}"\n'
        f'webhook_secret = "{SECRET}"\ntimeout = 10\nlease = {lease}\n'
        "retry_base = 0.2\nretry_max_delay = 1\nretry_jitter = 0.0\nretry_for = 120\n"
        "ack_wait = 3\ngroup_wait = 0\ngroup_interval = 0\n"
    )


def agent_toml(health: str) -> str:
    return (
        f'[[agent.checks]]\nname = "{CHECK}"\nkind = "http"\ntarget = "{health}"\n'
        "interval = 1\ntimeout = 1\n"
    )


async def stream_events(url: str, stream: str) -> list[object]:
    """Every event a stream holds now, read by sequence (errors raised, not skipped)."""
    nc = await nats.connect(url.split(","))
    js = nc.jetstream(timeout=10.0)
    try:
        info = await js.stream_info(stream)
        out: list[object] = []
        for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
            with contextlib.suppress(NotFoundError):
                msg = await js.get_msg(stream, seq)
                if msg.data:
                    out.append(events.decode(msg.data))
        return out
    finally:
        await nc.close()


class EventLog:
    """Every event of a stream, read by sequence as it grows (survives a node's death)."""

    def __init__(self, url: str, stream: str) -> None:
        self.url = url
        self.stream = stream
        self.items: list[object] = []
        self.arrived: list[float] = []  # when each item was first read here
        self._next = 1
        self._nc: Client | None = None

    async def refresh(self) -> list[object]:
        if self._nc is None:
            self._nc = await nats.connect(self.url.split(","), max_reconnect_attempts=-1)
        js = self._nc.jetstream(timeout=5.0)
        try:
            info = await js.stream_info(self.stream)
            self._next = max(self._next, info.state.first_seq)
            while self._next <= info.state.last_seq:
                with contextlib.suppress(NotFoundError):
                    msg = await js.get_msg(self.stream, self._next)
                    if msg.data:
                        self.items.append(events.decode(msg.data))
                        self.arrived.append(time.time())
                self._next += 1
        except (TimeoutError, nats.errors.Error):
            pass  # an election in progress: read on at the next call
        return self.items

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()


class Fleet:
    """The processes of a fleet, started and stopped (SIGTERM, else SIGKILL) together."""

    def __init__(
        self,
        url: str,
        redis_url: str,
        tmp: Path,
        hosts: list[str],
        replicas: dict[str, int],
        lease: float,
    ) -> None:
        self.url = url
        self.hosts = hosts
        self.replicas = replicas
        self.lease = lease
        self.tmp = tmp
        self.failing: set[str] = set()
        self.rx = Receiver()
        self.rx.answer = self._answer
        self.processes = Processes(tmp)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
        self.env |= {
            "VITALS_NATS_URL": url,
            "VITALS_NATS_REPLICAS": "3",
            "VITALS_REDIS_URL": redis_url,
            "VITALS_DATA_DIR": str(tmp / "data"),
            "VITALS_CONFIG": str(tmp / "vitals.toml"),
            "VITALS_ADMIN_PASSWORD": "fleet-admin-password",
            "PYTHONUNBUFFERED": "1",
        }
        self.telemetry = EventLog(url, subjects.STREAM_TELEMETRY)
        self.alerts = EventLog(url, subjects.STREAM_EVENTS)

    def _answer(self, request: Request) -> Reply:
        host = request.path.removeprefix("/health/")
        return Reply(503 if host in self.failing else 200)

    async def __aenter__(self) -> Fleet:
        await self.rx.start()
        (self.tmp / "vitals.toml").write_text(services_toml(self.rx.url("/ops"), self.lease))
        # One replica of each first, until they have created the streams and buckets: on a
        # loaded machine, every replica creating them at once can outlast a start's timeouts.
        for service in self.replicas:
            self.start(f"{service}-a")
        await eventually(self._first_ready, timeout=90, interval=0.3)
        for service, count in self.replicas.items():
            for i in range(1, count):
                self.start(f"{service}-{'abcdefgh'[i]}")
        for host in self.hosts:
            self.start(f"agent-{host}")
        return self

    def _first_ready(self) -> bool:
        self.check_alive()
        markers = {"alerter": " rules", "notifier": "notifier ready", "gateway": ""}
        return all(markers[s] in self.processes.log(f"{s}-a") for s in self.replicas)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.processes.stop_all)
        await self.telemetry.close()
        await self.alerts.close()
        await self.rx.stop()

    def start(self, name: str) -> subprocess.Popen[bytes]:
        """Start (or start again) the process `name`: `agent-<host>` or `<service>-<letter>`."""
        kind, _, rest = name.partition("-")
        env = dict(self.env)
        if kind == "agent":
            config = self.tmp / f"{name}.toml"
            config.write_text(agent_toml(self.rx.url(f"/health/{rest}")))
            env |= {"VITALS_AGENT_HOST": rest, "VITALS_AGENT_INTERVAL": "1",
                    "VITALS_CONFIG": str(config)}  # fmt: skip
        elif kind == "gateway":
            env["VITALS_HTTP_PORT"] = str(free_port())
        proc = self.processes.start(name, [sys.executable, "-m", f"vitals_{kind}"], env)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """kill -9 the process `name`; `start(name)` brings it back."""
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited:\n{self.processes.log(name)[-3000:]}"

    async def owners(self, bucket: str) -> dict[int, str]:
        """partition -> the replica holding its lease, from the lease bucket."""
        nc = await nats.connect(self.url.split(","))
        try:
            kv = await nc.jetstream(timeout=5.0).key_value(bucket)
            out: dict[int, str] = {}
            for key in await kv.keys():
                if key.startswith("lease."):
                    entry = await kv.get(key)
                    if entry.value:
                        out[int(key.removeprefix("lease."))] = entry.value.decode()
            return out
        except Exception:
            return {}  # no bucket, no keys, or an election: ask again
        finally:
            await nc.close()

    def replica_of(self, name: str) -> str:
        """The replica id (lease holder) that process `name` logged at its latest start."""
        pattern = r"(vitals-alerter-[0-9a-f]{12}): \d+ rules|replica (notifier-\S+): sharing"
        found = [a or b for a, b in re.findall(pattern, self.processes.log(name))]
        assert found, f"{name} has not logged its replica id"
        return str(found[-1])

    async def samples(self) -> dict[str, list[MetricSample]]:
        out: dict[str, list[MetricSample]] = {h: [] for h in self.hosts}
        for item in await self.telemetry.refresh():
            if isinstance(item, MetricSample) and item.host in out:
                out[item.host].append(item)
        return out

    async def alert_events(self) -> list[AlertEvent]:
        return [e for e in await self.alerts.refresh() if isinstance(e, AlertEvent)]

    async def wait_all_publishing(self, timeout: float = 90.0) -> None:
        async def publishing() -> bool:
            self.check_alive()
            got = await self.samples()
            return all(len(s) >= 3 for s in got.values())

        await eventually(publishing, timeout=timeout, interval=0.5)

    async def first(
        self, event: str, since: float, hosts: set[str], timeout: float
    ) -> dict[str, float]:
        """host -> when its first `event` of RULE stamped at or after `since` was read here.

        The time read, not the event's own `ts`: an alerter replaying a dead replica's
        partitions stamps events with the samples' times, which says nothing of the delay.
        """

        async def seen() -> dict[str, float] | None:
            self.check_alive()
            got: dict[str, float] = {}
            await self.alerts.refresh()
            for e, at in zip(self.alerts.items, self.alerts.arrived, strict=True):
                if not isinstance(e, AlertEvent) or e.rule != RULE or e.event != event:
                    continue
                if e.ts >= since and e.host in hosts:
                    got.setdefault(e.host, at)
            return got if set(got) == hosts else None

        try:
            result = await eventually(seen, timeout=timeout, interval=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{await self.diagnose()}") from None
        assert isinstance(result, dict)
        return result

    async def diagnose(self) -> str:
        """Who holds which lease, and what each alerter replica says it owns."""
        lines = [f"alerter leases: {await self.owners(subjects.KV_ALERTER_LEASES)}",
                 f"notifier leases: {await self.owners(subjects.KV_NOTIFIER_LEASES)}"]  # fmt: skip
        nc = await nats.connect(self.url.split(","))
        try:
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            await nc.publish(subjects.control(control.ALERTER, "stats"), b"{}", reply=inbox)
            for _ in range(self.replicas.get("alerter", 0)):
                msg = await sub.next_msg(timeout=3)
                data = control.decode_reply(msg.data).data
                keep = ("replica", "partitions", "members", "input", "counters")
                lines.append(f"alerter stats: { {k: data.get(k) for k in keep} }")
        except Exception as exc:  # a diagnosis only: say what could not be asked
            lines.append(f"alerter stats: {type(exc).__name__} {exc}")
        finally:
            await nc.close()
        lines += [self.processes.tails(40, "alerter-*"), self.processes.tails(40, "notifier-*")]
        return "\n".join(lines)

    async def cross(self, hosts: set[str], timeout: float) -> dict[str, float]:
        """Make `hosts` fail their check now; host -> when its `firing` event was read."""
        since = time.time()
        self.failing |= hosts
        return await self.first("firing", since, hosts, timeout)

    async def clear(self, timeout: float) -> None:
        """Every failing host passes its check again; wait for every `resolved`."""
        since, hosts = time.time(), set(self.failing)
        self.failing = set()
        await self.first("resolved", since, hosts, timeout)

    def deliveries(self) -> list[Request]:
        return self.rx.delivered("/ops")

    async def shared(self, bucket: str, partitions: int, timeout: float) -> dict[int, str]:
        """Wait until every partition is held and two replicas hold some; the owners."""

        async def split() -> dict[int, str] | None:
            self.check_alive()
            owners = await self.owners(bucket)
            return owners if len(owners) == partitions and len(set(owners.values())) == 2 else None

        owners = await eventually(split, timeout=timeout, interval=0.2)
        assert isinstance(owners, dict)
        return owners

    async def taken_over(self, bucket: str, partitions: int, dead: str, since: float) -> float:
        """Seconds from `since` until every partition is held again, none by `dead`."""
        while True:
            owners = await self.owners(bucket)
            if len(owners) == partitions and dead not in owners.values():
                return time.time() - since
            await asyncio.sleep(0.05)


def delivered(deliveries: list[Request], event: AlertEvent) -> float | None:
    """When a delivered webhook first carried this event (or a later one of its alert)."""
    return min(
        (r.at for r in deliveries for item in r.json()["events"]
         if item["alert_id"] == event.alert_id and item["ts"] >= event.ts),
        default=None,
    )  # fmt: skip


def assert_every_sample_once(
    stored: dict[str, list[MetricSample]], started: float, ended: float
) -> None:
    """Each host's numbering has no gap, no sample is stored twice or dropped, and it
    sampled right through the outages, one a second."""
    for host, samples in stored.items():
        seqs = [s.seq for s in samples]
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), (host, seqs)
        assert [s for s, n in Counter(seqs).items() if n > 1] == [], host
        assert sum(s.dropped for s in samples) == 0
        during = [s for s in samples if started <= s.ts <= ended]
        assert len(during) >= (ended - started) - 5, (host, len(during))
