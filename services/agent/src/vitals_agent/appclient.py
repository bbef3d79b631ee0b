"""Application metrics from inside the monitored application.

    from vitals_agent.appclient import AppClient

    client = AppClient("transcriber")          # VITALS_NATS_URL, VITALS_AGENT_HOST or hostname
    await client.start()                       # or client.start_in_thread() in a sync app
    with client.job():                         # job_started / job_finished / job_failed
        transcribe(audio)
    with client.request():                     # a timed request; an exception counts as error
        handle(request)
    client.gauge("queue_size", queue.qsize())
    await client.close()

Recording is thread-safe and costs a lock and a few additions. Every `window` seconds the
aggregate (counts, error rate, throughput, percentiles) goes to `vitals.app.<host>.<app>`
through the same bounded, resend-until-acknowledged buffer the agent uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

from vitals_agent.appmetrics import Window
from vitals_agent.outbox import Outbox
from vitals_agent.publisher import Publisher
from vitals_core import events, subjects
from vitals_core.settings import NatsSettings

LANE = "app"


def nats_settings_from_env(url: str | None = None) -> NatsSettings:
    env = os.environ
    return NatsSettings(
        url=url or env.get("VITALS_NATS_URL", ""),
        user=env.get("VITALS_NATS_USER", ""),
        password=env.get("VITALS_NATS_PASSWORD", ""),
        nkey_seed_file=env.get("VITALS_NATS_NKEY_SEED_FILE", ""),
        creds_file=env.get("VITALS_NATS_CREDS_FILE", ""),
        tls_ca_file=env.get("VITALS_NATS_TLS_CA_FILE", ""),
        tls_cert_file=env.get("VITALS_NATS_TLS_CERT_FILE", ""),
        tls_key_file=env.get("VITALS_NATS_TLS_KEY_FILE", ""),
    )


class AppClient:
    def __init__(
        self,
        app: str,
        *,
        host: str | None = None,
        nats_url: str | None = None,
        nats: NatsSettings | None = None,
        window: float = 10.0,
        buffer_seconds: float = 900.0,
    ) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self.app = subjects.token(app, "app name")
        self.host = subjects.safe_token(
            host or os.environ.get("VITALS_AGENT_HOST") or socket.gethostname()
        )
        self.window = window
        self.subject = subjects.app(self.host, self.app)
        self._nats = nats or nats_settings_from_env(nats_url)
        self._lock = threading.Lock()
        self._window = Window()
        self._outbox = Outbox({LANE: math.ceil(buffer_seconds / window)})
        self._run_id = os.urandom(4).hex()
        self._sent = 0
        self._publisher: Publisher | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_flush: float | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the thread's, for stop_thread
        self._sending_loop: asyncio.AbstractEventLoop | None = None

    # --- recording (any thread) ---------------------------------------------------------

    def job_started(self) -> float:
        """A job began; returns its start time for `job_finished`/`job_failed`."""
        with self._lock:
            self._window.job_started()
        return time.perf_counter()

    def job_finished(self, started: float | None = None) -> None:
        self._job_ended(True, started)

    def job_failed(self, started: float | None = None) -> None:
        self._job_ended(False, started)

    def _job_ended(self, ok: bool, started: float | None) -> None:
        ms = (time.perf_counter() - started) * 1000 if started is not None else None
        with self._lock:
            self._window.job_ended(ok, ms)

    @contextlib.contextmanager
    def job(self) -> Iterator[None]:
        """Times a job; an exception marks it failed (and goes on)."""
        started = self.job_started()
        try:
            yield
        except BaseException:
            self.job_failed(started)
            raise
        self.job_finished(started)

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Times a request; an exception counts as an error (and goes on)."""
        started = time.perf_counter()
        error = False
        try:
            yield
        except BaseException:
            error = True
            raise
        finally:
            self.record_request((time.perf_counter() - started) * 1000, error)

    def record_request(self, duration_ms: float, error: bool = False) -> None:
        with self._lock:
            self._window.request(duration_ms, error)

    def gauge(self, name: str, value: float) -> None:
        """A current value; `queue_size` and `jobs_active` fill those fields."""
        with self._lock:
            self._window.gauge(name, value)

    def count(self, name: str, amount: float = 1.0) -> None:
        with self._lock:
            self._window.count(name, amount)

    # --- sending (asyncio) --------------------------------------------------------------

    async def start(self) -> None:
        self._sending_loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._stop_flushing = asyncio.Event()
        self._publisher = Publisher(
            self._outbox, self._nats, f"vitals-app-{self.host}-{self.app}", self.host
        )
        self._tasks = [
            asyncio.create_task(self._flush_every_window(self._stop_flushing)),
            asyncio.create_task(self._publisher.run(self._stop)),
        ]

    async def close(self) -> None:
        """Send the last window, then whatever the bus has not acknowledged (briefly)."""
        if self._stop is None:
            return
        # The last window first, so the publisher's final flush includes it.
        self._stop_flushing.set()
        await asyncio.gather(self._tasks[0], return_exceptions=True)
        self._stop.set()
        await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        self._stop = None

    async def __aenter__(self) -> AppClient:
        await self.start()
        return self

    async def __aexit__(
        self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def flush(self) -> None:
        """Close the current window now and queue it for sending; from any thread."""
        loop = self._sending_loop
        if loop is not None and not _runs(loop):
            # The outbox and the publisher belong to the sending loop's thread.
            loop.call_soon_threadsafe(self._flush_here)
        else:
            self._flush_here()

    def _flush_here(self) -> None:
        now = time.time()
        with self._lock:
            event = self._window.flush(self.host, self.app, now, self._elapsed(now))
        # Windows the bound dropped while the bus was away are counted in the next one.
        dropped = self._outbox.take_dropped(LANE)
        if dropped:
            event.counters["dropped_windows"] = float(dropped)
        self._sent += 1
        msg_id = f"{self.host}.{self.app}.{self._run_id}.{self._sent}"
        self._outbox.put(LANE, self.subject, events.encode(event), msg_id, carried=dropped)
        if self._publisher is not None:
            self._publisher.wake()

    def _elapsed(self, now: float) -> float:
        last, self._last_flush = self._last_flush, now
        return now - last if last is not None else self.window

    async def _flush_every_window(self, stop: asyncio.Event) -> None:
        self._last_flush = time.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.window)
            self.flush()  # the last window too, however short
            if stop.is_set():
                return

    # --- for applications without an event loop -----------------------------------------

    def start_in_thread(self) -> None:
        """Run the sending side in a daemon thread of its own."""
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=main, name=f"vitals-app-{self.app}", daemon=True)
        self._thread.start()
        ready.wait()

    def stop_thread(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.close(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None


def _runs(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `loop` is the one running in this thread."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
