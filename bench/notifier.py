"""Notifier throughput and latency: 1,000 alert events to 10 webhook receivers.

Real NATS, a real notifier process, and 10 real HTTP servers on loopback in a process of
their own (one answers 100 ms late, one fails half the time with 500). Beside it, in the
same run, a baseline: the same events posted straight to the same receivers by one
process, no bus and no outbox, with the same per-receiver concurrency and retrying 500s.
Each side runs twice: paced (50 events/s, the latency of a steady stream) and as one
burst of 1,000 (deliveries per second). Latency is from the event's creation to its
arrival, for the 8 healthy receivers. Every receiver must get every event, and each
webhook-id must be delivered once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import uvicorn

from tests.helpers import eventually
from tests.integration.notifier_support import SECRET, alert
from vitals_core import events, subjects
from vitals_core.events import AlertEvent
from vitals_servers import NatsServer, free_port

EVENTS = 1000
RECEIVERS = [f"r{i}" for i in range(10)]
SLOW, FLAKY = "r0", "r1"
HEALTHY = [r for r in RECEIVERS if r not in (SLOW, FLAKY)]
SLOW_DELAY = 0.1
CONCURRENCY = 4
PACED_RATE = 50.0


# --- the receivers' process -----------------------------------------------------------------


def reply_for(name: str, rng: random.Random) -> tuple[int, float]:
    """(status, delay) for one request to receiver `name`."""
    if name == SLOW:
        return 200, SLOW_DELAY
    if name == FLAKY and rng.random() < 0.5:
        return 500, 0.0
    return 200, 0.0


class HttpReceiver(asyncio.Protocol):
    """A small HTTP/1.1 server (keep-alive, Content-Length bodies) recording what it gets.

    Leaner than a framework, so the receivers are not what limits the figures.
    """

    def __init__(self, name: str, log: list[tuple[int, float, bytes, bytes]],
                 rng: random.Random) -> None:  # fmt: skip
        self.name, self.log, self.rng = name, log, rng
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])
            }
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            status, delay = reply_for(self.name, self.rng)
            self.log.append((status, time.time(), headers.get("webhook-id", "").encode(), body))
            if delay:
                asyncio.get_running_loop().call_later(delay, self._answer, status)
            else:
                self._answer(status)

    def _answer(self, status: int) -> None:
        if self.transport is not None and not self.transport.is_closing():
            reason = b"OK" if status == 200 else b"Error"
            self.transport.write(
                b"HTTP/1.1 %d %s\r\nContent-Length: 2\r\n\r\nok" % (status, reason)
            )


async def serve_receivers() -> None:
    """Run the receivers; print their ports; GET /_records (or /_reset) on `control`."""
    rng = random.Random(1)
    logs: dict[str, list[tuple[int, float, bytes, bytes]]] = {n: [] for n in RECEIVERS}
    loop = asyncio.get_running_loop()
    ports = {}
    for name in RECEIVERS:
        server = await loop.create_server(
            lambda name=name: HttpReceiver(name, logs[name], rng),  # type: ignore[misc]
            "127.0.0.1",
            0,
        )
        ports[name] = server.sockets[0].getsockname()[1]

    async def control(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/_reset":
            for log in logs.values():
                log.clear()
        summary = {n: [_summary(*entry) for entry in log] for n, log in logs.items()}
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps(summary).encode()})

    port = free_port()
    config = uvicorn.Config(control, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")  # fmt: skip
    web = uvicorn.Server(config)
    loop.add_signal_handler(signal.SIGTERM, lambda: setattr(web, "should_exit", True))
    task = asyncio.create_task(web.serve())
    await eventually(lambda: web.started)
    print(json.dumps({"control": port} | ports), flush=True)
    await task


def _summary(status: int, at: float, webhook_id: bytes, body: bytes) -> dict[str, Any]:
    data = msgspec.json.decode(body)
    first = data["events"][0] if "events" in data else data
    return {"status": status, "at": at, "event": first["id"], "ts": first["ts"],
            "webhook_id": webhook_id.decode()}  # fmt: skip


# --- the bench --------------------------------------------------------------------------------


@dataclass
class Figures:
    deliveries: int
    seconds: float
    p50_ms: float
    p99_ms: float
    flaky_attempts: int
    lost: int
    duplicated: int

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


class Receivers:
    def __init__(self, work: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.notifier", "--receivers"],
            stdout=subprocess.PIPE, stderr=(work / "receivers.log").open("wb"),
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.ports: dict[str, int] = json.loads(self.proc.stdout.readline())

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/"

    async def records(self, path: str = "/_records") -> dict[str, list[dict[str, Any]]]:
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.get(f"http://127.0.0.1:{self.ports['control']}{path}")
            return dict(r.json())

    async def wait_complete(self, within: float) -> dict[str, list[dict[str, Any]]]:
        deadline = time.monotonic() + within
        counts: dict[str, int] = {}
        while time.monotonic() < deadline:
            seen = await self.records()
            counts = {n: sum(1 for r in rs if r["status"] == 200) for n, rs in seen.items()}
            if sum(counts.values()) >= EVENTS * len(RECEIVERS):
                return seen
            await asyncio.sleep(0.5)
        raise SystemExit(f"bench: deliveries incomplete after {within:.0f}s: {counts}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


def figures(seen: dict[str, list[dict[str, Any]]], started: float) -> Figures:
    ok = {n: [r for r in rs if r["status"] == 200] for n, rs in seen.items()}
    latencies = [(r["at"] - r["ts"]) * 1000.0 for n in HEALTHY for r in ok[n]]
    lost = sum(EVENTS - len({r["event"] for r in rs}) for rs in ok.values())
    duplicated = sum(
        n - 1
        for rs in ok.values()
        for n in Counter(r["webhook_id"] or r["event"] for r in rs).values()
    )
    deliveries = sum(len(rs) for rs in ok.values())
    return Figures(
        deliveries=deliveries,
        seconds=max(r["at"] for rs in ok.values() for r in rs) - started,
        p50_ms=statistics.median(latencies),
        p99_ms=sorted(latencies)[int(0.99 * len(latencies)) - 1],
        flaky_attempts=len(seen[FLAKY]),
        lost=lost,
        duplicated=duplicated,
    )


def make_events(tag: str) -> list[AlertEvent]:
    return [alert(alert_id=f"{tag}-{i}", host=f"host-{i % 50}") for i in range(EVENTS)]


async def paced(
    items: list[AlertEvent], rate: float | None, send: Callable[[AlertEvent], Awaitable[None]]
) -> float:
    """Hand each event to `send` (stamping its creation time), at `rate` per second or at once."""
    started = time.time()
    for i, item in enumerate(items):
        if rate:
            await asyncio.sleep(max(0.0, started + i / rate - time.time()))
        item.ts = time.time()
        await send(item)
    return started


async def direct(rxs: Receivers, rate: float | None) -> Figures:
    await rxs.records("/_reset")
    gates = {n: asyncio.Semaphore(CONCURRENCY * (2 if n == SLOW else 1)) for n in RECEIVERS}
    tasks: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_connections=100)) as client:

        async def post(name: str, body: bytes) -> None:
            async with gates[name]:
                for _ in range(100):
                    try:
                        if (await client.post(rxs.url(name), content=body)).status_code < 500:
                            return
                    except httpx.TransportError:
                        pass  # a connection dropped under load: retried, as the notifier does
                    await asyncio.sleep(0.05)

        async def send(item: AlertEvent) -> None:
            body = events.encode(item)
            tasks.extend(asyncio.create_task(post(n, body)) for n in RECEIVERS)

        started = await paced(make_events("direct"), rate, send)
        await asyncio.gather(*tasks)
    return figures(await rxs.wait_complete(30), started)


def notifier_config(rxs: Receivers) -> str:
    head = (
        '[notifier]\nallow_private = ["127.0.0.1"]\ngroup_by = ["alert_id"]\n'
        "group_wait = 0\ngroup_interval = 0\nretry_base = 0.05\nretry_max_delay = 0.5\n"
        f"concurrency = {CONCURRENCY}\n"
    )
    return head + "".join(
        f'[[notifier.receivers]]\nname = "{n}"\nkind = "webhook"\nurl = "{rxs.url(n)}"\n'
        f'secrets = ["{SECRET}"]\n' + (f"concurrency = {CONCURRENCY * 2}\n" if n == SLOW else "")
        for n in RECEIVERS
    )


async def through_notifier(rxs: Receivers, nats_url: str, rate: float | None, tag: str) -> Figures:
    await rxs.records("/_reset")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()

    async def send(item: AlertEvent) -> None:
        await js.publish_async(subjects.alerts(item.host), events.encode(item),
                               headers={"Nats-Msg-Id": item.id})  # fmt: skip

    started = await paced(make_events(tag), rate, send)
    await js.publish_async_completed()
    await nc.close()
    return figures(await rxs.wait_complete(120), started)


def start_notifier(work: Path, rxs: Receivers, nats_url: str) -> subprocess.Popen[bytes]:
    (work / "vitals.toml").write_text(notifier_config(rxs))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env |= {"VITALS_NATS_URL": nats_url, "VITALS_CONFIG": str(work / "vitals.toml")}
    log = work / "notifier.log"
    proc = subprocess.Popen([sys.executable, "-m", "vitals_notifier"], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip
    while b"notifier ready" not in log.read_bytes():
        if proc.poll() is not None:
            raise SystemExit(log.read_text())
        time.sleep(0.1)
    return proc


def row(label: str, f: Figures) -> str:
    return f"  {label:24}{f.rate:14.0f}{f.p50_ms:10.1f}{f.p99_ms:10.1f}"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp) / "nats") as server:
        work = Path(tmp)
        rxs = Receivers(work)
        try:
            base_paced = await direct(rxs, PACED_RATE)
            base_burst = await direct(rxs, None)
            proc = start_notifier(work, rxs, server.url)
            try:
                ours_paced = await through_notifier(rxs, server.url, PACED_RATE, "paced")
                ours_burst = await through_notifier(rxs, server.url, None, "burst")
            except SystemExit:
                print((work / "notifier.log").read_text()[-3000:], file=sys.stderr)
                raise
            finally:
                proc.terminate()
                proc.wait(10)
        finally:
            rxs.stop()
    print(
        f"notifier: {EVENTS} alert events to {len(RECEIVERS)} webhook receivers on loopback "
        f"({SLOW} answers {SLOW_DELAY * 1000:.0f} ms late, {FLAKY} fails half the time)"
    )
    print(
        f"  {'':24}{'deliveries/s':>14}{'p50 ms':>10}{'p99 ms':>10}   latency: 8 healthy receivers"
    )
    for name, base, ours in ((f"paced, {PACED_RATE:.0f} events/s", base_paced, ours_paced),
                             ("burst of 1,000", base_burst, ours_burst)):  # fmt: skip
        print(name)
        print(row("direct HTTP posts", base))
        print(row("through the notifier", ours))
        print(f"  {'notifier / direct':24}{ours.rate / base.rate:14.2f}"
              f"{ours.p50_ms / base.p50_ms:10.1f}{ours.p99_ms / base.p99_ms:10.1f}")  # fmt: skip
    for name, f in (("paced", ours_paced), ("burst", ours_burst)):
        print(f"{name}: {f.deliveries}/{EVENTS * len(RECEIVERS)} delivered; lost {f.lost}; "
              f"a webhook-id delivered more than once: {f.duplicated}; "
              f"{FLAKY} took {f.flaky_attempts} attempts for {EVENTS} messages")  # fmt: skip
    if any(f.lost or f.duplicated for f in (ours_paced, ours_burst)):
        raise SystemExit(1)


if __name__ == "__main__":
    if sys.argv[1:] == ["--receivers"]:
        asyncio.run(serve_receivers())
    else:
        asyncio.run(main())
