"""The agent's wiring: collect every interval, run checks and scrapes, send it all.

Collecting never waits for the bus: events go to a bounded outbox, and a publisher sends
them to JetStream as soon as (and for as long as) the bus is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from vitals_agent.collectors import HostCollector
from vitals_agent.collectors.hostinfo import HostInfoCollector, should_send
from vitals_agent.outbox import Outbox
from vitals_agent.procfs import ProcFile
from vitals_agent.publisher import Publisher
from vitals_agent.rates import Tick
from vitals_agent.schedule import next_due, skipped_slots
from vitals_core import events, subjects
from vitals_core.events import AgentStats, HostInfo, MetricSample
from vitals_core.settings import CheckSettings, ScrapeSettings, Settings

if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger("vitals.agent")

# Host facts are compared this often; and re-sent this often so a late reader finds them.
HOST_INFO_CHECK_S = 60.0
HOST_INFO_RESEND_S = 3600.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MAX_LANE = 100_000
# The agent's own RSS changes slowly: read every this many samples (a file read each is
# a measurable part of a cycle).
RSS_EVERY = 10


def host_id(settings: Settings) -> str:
    return subjects.safe_token(settings.agent.host or socket.gethostname())


def lane_limits(settings: Settings) -> dict[str, int]:
    """How many events of each kind the outbox keeps: `buffer_seconds` worth of each."""
    a = settings.agent
    per_check = sum(a.buffer_seconds / c.interval for c in a.checks)
    per_scrape = sum(a.buffer_seconds / s.interval for s in a.scrape)
    return {
        "metrics": max(1, math.ceil(a.buffer_seconds / a.interval)),
        "info": 4,
        "health": min(MAX_LANE, max(1, math.ceil(per_check))),
        "app": min(MAX_LANE, max(1, math.ceil(per_scrape))),
    }


class Agent:
    def __init__(self, settings: Settings, collector: HostCollector | None = None) -> None:
        a = settings.agent
        self.settings = settings
        self.host = host_id(settings)
        self.run_id = os.urandom(4).hex()
        self.outbox = Outbox(lane_limits(settings))
        self.publisher = Publisher(
            self.outbox, settings.nats, f"vitals-agent-{self.host}", self.host, a.publish_window
        )
        self.collector = collector or HostCollector(
            self.host, a.interval, top_n=a.top_n, gpu=a.gpu,
            connection_states=a.connection_states,
        )  # fmt: skip
        self.info = HostInfoCollector(self.host, a.labels, a.interval)
        self.seq = 0
        self.skipped = 0
        # Scrapes and host-fact readings that failed (check failures are results of their own).
        self.failures = 0
        self._sent_info: HostInfo | None = None
        self._info_sent_at = 0.0
        self._counters: dict[str, int] = {}
        self._statm = ProcFile("/proc/self/statm", one_piece=True)
        self._rss = 0

    def enqueue(
        self, lane: str, subject: str, event: events.Event, key: str, carried: int = 0
    ) -> None:
        n = self._counters[key] = self._counters.get(key, 0) + 1
        msg_id = f"{self.host}.{self.run_id}.{key}.{n}"
        self.outbox.put(lane, subject, events.encode(event), msg_id, carried)
        self.publisher.wake()

    # --- host metrics -----------------------------------------------------------------

    def _timed_collect(self, tick: Tick, seq: int) -> tuple[MetricSample, float, float]:
        t0, c0 = time.perf_counter(), time.thread_time()
        sample = self.collector.collect(tick, seq)
        return sample, (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000

    async def collect_loop(self, stop: asyncio.Event) -> None:
        """Collect every interval until `stop`.

        Collecting runs from a timer callback rather than in a task that sleeps: a task's
        wake-up takes two turns of the event loop, and on a host sampled every second each
        turn is a cold one (docs/agent.md). The first reading only sets the counters;
        rates start from the next one.
        """
        interval = self.settings.agent.interval
        loop = asyncio.get_running_loop()
        # NVML calls can hang on a wedged GPU: with GPUs, collecting runs in a thread of its
        # own so a hang stalls collecting, not the agent. Without GPUs nothing there can hang
        # and the handoff would cost CPU every cycle.
        gpu = self.collector.gpu
        pool = None
        if gpu and gpu.available:
            from concurrent.futures import ThreadPoolExecutor  # here: only hosts with GPUs

            pool = ThreadPoolExecutor(1, "vitals-collect")
        busy = False  # a collection in the thread has not come back yet
        start = loop.time() + min(1.0, interval)
        due = start
        timer: asyncio.TimerHandle | None = None

        def collect(seq: int) -> None:
            nonlocal busy
            tick = Tick(time.time(), time.monotonic())
            if pool is None:
                self._collected(seq, *self._timed_collect(tick, seq))
            elif busy:
                self.skipped += 1  # the last collection still waits on the GPU driver
            else:
                busy = True
                job = pool.submit(self._timed_collect, tick, seq)
                job.add_done_callback(lambda j: loop.call_soon_threadsafe(finished, seq, j))

        def finished(seq: int, job: Future[tuple[MetricSample, float, float]]) -> None:
            nonlocal busy
            busy = False
            if not stop.is_set():
                self._collected(seq, *job.result())

        def on_time() -> None:
            nonlocal due, timer
            try:
                collect(self.seq + 1)
            except Exception:
                self.failures += 1
                log.exception("collecting a sample failed")
            finally:
                following = next_due(start, interval, loop.time())
                self.skipped += skipped_slots(due, following, interval)
                due = following
                timer = None if stop.is_set() else loop.call_at(due, on_time)

        try:
            collect(0)
            timer = loop.call_at(due, on_time)
            await stop.wait()
        finally:
            if timer is not None:
                timer.cancel()
            if pool is not None:
                pool.shutdown(wait=False)
            self.collector.close()
            self._statm.close()

    def _collected(self, seq: int, sample: MetricSample, cycle_ms: float, cycle_cpu: float) -> None:
        if seq == 0:
            self.publish_host_info(time.time(), force=True)
            return
        self.seq = seq
        sample.dropped = self.outbox.take_dropped("metrics")
        sample.agent = self._stats(cycle_ms, cycle_cpu)
        self.enqueue("metrics", subjects.metrics(self.host), sample, "m", sample.dropped)

    def _stats(self, cycle_ms: float, cycle_cpu_ms: float) -> AgentStats:
        times = os.times()
        if self.seq % RSS_EVERY == 1 or not self._rss:
            statm = self._statm.read()
            self._rss = int(statm.split()[1]) * PAGE_SIZE if statm else 0
        dropped = self.outbox.dropped_total
        return AgentStats(
            cycle_ms=round(cycle_ms, 3),
            cycle_cpu_ms=round(cycle_cpu_ms, 3),
            cpu_s=round(times.user + times.system, 3),
            rss=self._rss,
            buffered=len(self.outbox),
            dropped_events=sum(n for lane, n in dropped.items() if lane != "metrics")
            + self.publisher.refused,
            errors=self.collector.errors + self.failures,
            skipped=self.skipped,
        )

    # --- host facts ---------------------------------------------------------------------

    def publish_host_info(self, now: float, force: bool = False) -> None:
        info = self.info.collect(now, self.collector.boot_time)
        last, at = self._sent_info, self._info_sent_at
        if force or should_send(info, last, at, now, HOST_INFO_RESEND_S):
            self.enqueue("info", subjects.host_info(self.host), info, "i")
            self._sent_info, self._info_sent_at = info, now

    async def host_info_loop(self, stop: asyncio.Event) -> None:
        while not await _wait(stop, HOST_INFO_CHECK_S):
            try:
                self.publish_host_info(time.time())
            except Exception:
                self.failures += 1
                log.exception("could not read the host's facts")

    # --- service checks and scrapes ------------------------------------------------------

    async def check_loop(self, check: CheckSettings, stop: asyncio.Event) -> None:
        # Imported here: an agent without checks does not carry their libraries.
        from vitals_agent.checks import run_check

        subject = subjects.health(self.host, check.name)

        async def once() -> None:
            self.enqueue("health", subject, await run_check(check, self.host), f"c-{check.name}")

        await _every(check.interval, stop, once, f"check {check.name}", self)

    async def scrape_loop(self, scrape: ScrapeSettings, stop: asyncio.Event) -> None:
        from vitals_agent.scrape import Scraper, fetch_async

        scraper = Scraper(scrape, self.host)
        subject = subjects.app(self.host, scrape.app)
        warned: set[str] = set()

        async def once() -> None:
            page = await asyncio.wait_for(fetch_async(scrape.url, scrape.timeout), scrape.timeout)
            event = scraper.convert(page, time.time(), time.monotonic())
            for source in scraper.missing - warned:
                log.warning("scrape %s: %s is not on %s", scrape.app, source, scrape.url)
            warned.update(scraper.missing)
            self.enqueue("app", subject, event, f"s-{scrape.app}")

        await _every(scrape.interval, stop, once, f"scrape {scrape.app}", self)


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless stopped first; True when stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _every(
    interval: float,
    stop: asyncio.Event,
    job: Callable[[], Awaitable[None]],
    what: str,
    agent: Agent,
) -> None:
    start = time.monotonic()
    failures = 0
    while not stop.is_set():
        try:
            await job()
            failures = 0
        except Exception as exc:
            failures += 1
            agent.failures += 1
            if failures == 1 or failures % 100 == 0:
                log.warning("%s failed (%d in a row): %r", what, failures, exc)
        if await _wait(stop, next_due(start, interval, time.monotonic()) - time.monotonic()):
            return


def raise_fd_limit(wanted: int = 1 << 16) -> int:
    """Raise the soft limit on open files towards the hard one; returns the soft limit.

    The process collector keeps two files open per process (docs/agent.md); the usual soft
    limit of 1024 would cover about 380 processes. The hard limit is the administrator's.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError) as exc:
            log.info("could not raise the open-file limit from %d: %s", soft, exc)
    return soft


def _require_procfs() -> None:
    if not os.path.exists("/proc/stat"):
        raise RuntimeError("the agent reads /proc: it runs on Linux")


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("an agent task stopped on an error", exc_info=task.exception())


async def run(settings: Settings, stop: asyncio.Event) -> None:
    if not settings.agent.enabled:
        log.info("monitoring is disabled (agent.enabled=false); nothing to do")
        await stop.wait()
        return
    _require_procfs()
    raise_fd_limit()
    agent = Agent(settings)
    # What exists now (modules, settings, the collectors) lives as long as the agent: out of
    # the cyclic collector's sight, a full collection looks only at what cycles allocate.
    gc.freeze()
    a = settings.agent
    log.info(
        "agent for %s: every %.1fs, %d checks, %d scrapes, buffer %d samples",
        agent.host, a.interval, len(a.checks), len(a.scrape), lane_limits(settings)["metrics"],
    )  # fmt: skip
    workers = [
        agent.collect_loop(stop),
        agent.host_info_loop(stop),
        *(agent.check_loop(c, stop) for c in a.checks),
        *(agent.scrape_loop(s, stop) for s in a.scrape),
    ]
    tasks = [asyncio.create_task(w) for w in workers]
    for task in tasks:
        task.add_done_callback(_report_crash)
    # The publisher outlives the others by a short flush after `stop`.
    await agent.publisher.run(stop)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
