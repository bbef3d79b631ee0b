"""A DEMO: a fake transcription service that reports through Vitals' application client.

`vitals up` (and so `make run`) starts it unless `--no-demo` or `VITALS_DEMO=0`, so the
dashboard has application metrics to show before a real application reports any. Its
numbers are invented; it reports as the application `demo-transcriber`, which the
dashboard marks with a "demo" badge.

Clients submit audio files through an "API" (each submission is a timed request); a pool of
workers transcribes them from a queue (each job is timed; a few fail). The arrival rate
swings over a few minutes with bursts on top, and the pool grows and shrinks with the
queue, so the dashboard has something to show: queue size, jobs active, throughput, error
rate, response-time and job-time percentiles.

    VITALS_NATS_URL=nats://127.0.0.1:14222 python -m vitals.demo

Environment: VITALS_NATS_URL (required), VITALS_AGENT_HOST (default: the hostname),
VITALS_DEMO_WINDOW (seconds per aggregate, default 5), VITALS_DEMO_SPEED (time factor,
default 1; higher runs the simulation faster).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import signal
import sys
import time

from vitals_agent.appclient import AppClient

# The "demo-" prefix is how every view tells these invented numbers from a real application.
APP = "demo-transcriber"
MIN_WORKERS, MAX_WORKERS = 2, 8
FAILURE_RATE = 0.03
CYCLE_S = 300.0  # one swing of the arrival rate


class TranscriptionFailed(Exception):
    pass


class Demo:
    def __init__(self, client: AppClient, speed: float, rng: random.Random) -> None:
        self.client = client
        self.speed = speed
        self.rng = rng
        self.queue: asyncio.Queue[float] = asyncio.Queue(maxsize=500)
        self.workers: list[asyncio.Task[None]] = []
        self.submissions: set[asyncio.Task[None]] = set()
        self.busy = 0
        self.started = time.monotonic()

    def arrivals_per_s(self) -> float:
        """A slow swing between quiet and busy, with an occasional burst."""
        t = (time.monotonic() - self.started) * self.speed
        base = 1.5 + 1.2 * math.sin(2 * math.pi * t / CYCLE_S)
        burst = 4.0 if self.rng.random() < 0.02 else 0.0
        return max(0.2, base + burst)

    async def submit(self) -> None:
        """The API: accept an upload and queue it (a timed request)."""
        with contextlib.suppress(TranscriptionFailed), self.client.request():
            await self.sleep(self.rng.uniform(0.005, 0.04))
            if self.queue.full():
                raise TranscriptionFailed("queue full")  # answered 503
            self.queue.put_nowait(self.rng.uniform(5.0, 90.0))  # seconds of audio

    async def work(self) -> None:
        while True:
            audio_s = await self.queue.get()
            self.busy += 1
            try:
                with contextlib.suppress(TranscriptionFailed), self.client.job():
                    # A GPU worker transcribes 30-60 times faster than real time.
                    await self.sleep(audio_s / self.rng.uniform(30.0, 60.0))
                    if self.rng.random() < FAILURE_RATE:
                        raise TranscriptionFailed("decoder error")
                    self.client.count("audio_seconds", audio_s)
            finally:
                self.busy -= 1
                self.queue.task_done()

    def scale(self) -> None:
        """Grow the pool when the queue backs up, shrink it when idle."""
        backlog = self.queue.qsize()
        if backlog > 2 * len(self.workers) and len(self.workers) < MAX_WORKERS:
            self.workers.append(asyncio.create_task(self.work()))
        elif backlog == 0 and len(self.workers) > MIN_WORKERS and self.busy < len(self.workers):
            self.workers.pop().cancel()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    async def run(self, stop: asyncio.Event) -> None:
        for _ in range(MIN_WORKERS):
            self.workers.append(asyncio.create_task(self.work()))
        while not stop.is_set():
            rate = self.arrivals_per_s()
            submission = asyncio.create_task(self.submit())
            self.submissions.add(submission)
            submission.add_done_callback(self.submissions.discard)
            self.scale()
            self.client.gauge("queue_size", self.queue.qsize())
            self.client.gauge("workers", len(self.workers))
            self.client.gauge("workers_busy", self.busy)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.rng.expovariate(rate) / self.speed)
        for task in self.workers:
            task.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)


async def main() -> int:
    if not os.environ.get("VITALS_NATS_URL"):
        print("vitals.demo: set VITALS_NATS_URL (vitals up does)", file=sys.stderr)
        return 2
    window = float(os.environ.get("VITALS_DEMO_WINDOW", "5"))
    speed = float(os.environ.get("VITALS_DEMO_SPEED", "1"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AppClient(APP, window=window) as client:
        print(
            f"DEMO application (invented numbers) reporting as {client.subject} every "
            f"{window:g}s; turn it off with `vitals up --no-demo` or VITALS_DEMO=0",
            flush=True,
        )
        await Demo(client, speed, random.Random()).run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
