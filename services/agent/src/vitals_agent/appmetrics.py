"""Aggregating what an application reports into one `AppMetrics` per window. Pure.

Durations are kept in a bounded reservoir (a uniform random sample once the window sees
more than it holds), so percentiles stay cheap and memory stays flat at any request rate;
count, mean and max are exact.
"""

from __future__ import annotations

import math
import random

from vitals_core.events import AppMetrics, Percentiles

RESERVOIR = 2048


class Reservoir:
    def __init__(self, size: int = RESERVOIR, rng: random.Random | None = None) -> None:
        self.size = size
        self.rng = rng or random.Random()
        self.values: list[float] = []
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.max = max(self.max, value)
        if len(self.values) < self.size:
            self.values.append(value)
        else:
            # Algorithm R: each value seen so far stays with equal probability.
            slot = self.rng.randrange(self.count)
            if slot < self.size:
                self.values[slot] = value

    def summary(self) -> Percentiles | None:
        if not self.count:
            return None
        ordered = sorted(self.values)
        return Percentiles(
            count=self.count,
            mean=round(self.total / self.count, 3),
            p50=round(nearest_rank(ordered, 0.50), 3),
            p95=round(nearest_rank(ordered, 0.95), 3),
            p99=round(nearest_rank(ordered, 0.99), 3),
            max=round(self.max, 3),
        )


def nearest_rank(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values: the smallest value with at least q of them at or below."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def error_rate(requests: int, errors: int, completed: int, failed: int) -> float:
    """Failed requests and jobs as a fraction (0..1) of all that ended."""
    ended = requests + completed + failed
    return round((errors + failed) / ended, 4) if ended else 0.0


def throughput(requests: int, completed: int, failed: int, seconds: float) -> float:
    """Jobs completed per second when the application has jobs, else requests per second."""
    if seconds <= 0:
        return 0.0
    done = completed if completed or failed else requests
    return round(done / seconds, 3)


class Window:
    """Counts and timings since the last `flush`; gauges and running jobs carry over."""

    def __init__(self, reservoir: int = RESERVOIR, rng: random.Random | None = None) -> None:
        self._reservoir = reservoir
        self._rng = rng or random.Random()
        self.running = 0
        self.gauges: dict[str, float] = {}
        self._reset()

    def _reset(self) -> None:
        self.completed = 0
        self.failed = 0
        self.requests = 0
        self.errors = 0
        self.counters: dict[str, float] = {}
        self.job_ms = Reservoir(self._reservoir, self._rng)
        self.response_ms = Reservoir(self._reservoir, self._rng)

    def job_started(self) -> None:
        self.running += 1

    def job_ended(self, ok: bool, duration_ms: float | None) -> None:
        self.running = max(0, self.running - 1)
        if ok:
            self.completed += 1
        else:
            self.failed += 1
        if duration_ms is not None and duration_ms >= 0:
            self.job_ms.add(duration_ms)

    def request(self, duration_ms: float, error: bool) -> None:
        self.requests += 1
        if error:
            self.errors += 1
        if duration_ms >= 0:
            self.response_ms.add(duration_ms)

    def gauge(self, name: str, value: float) -> None:
        self.gauges[name] = float(value)

    def count(self, name: str, amount: float = 1.0) -> None:
        self.counters[name] = self.counters.get(name, 0.0) + amount

    def flush(self, host: str, app: str, now: float, seconds: float) -> AppMetrics:
        """The window as an event; counts and timings start again from zero."""
        gauges = dict(self.gauges)
        jobs_active = gauges.pop("jobs_active", float(self.running))
        queue_size = gauges.pop("queue_size", 0.0)
        event = AppMetrics(
            ts=now,
            host=host,
            app=app,
            window=round(seconds, 3),
            jobs_active=jobs_active,
            queue_size=queue_size,
            jobs_completed=self.completed,
            jobs_failed=self.failed,
            requests=self.requests,
            errors=self.errors,
            error_rate=error_rate(self.requests, self.errors, self.completed, self.failed),
            throughput_per_s=throughput(self.requests, self.completed, self.failed, seconds),
            response_ms=self.response_ms.summary(),
            job_ms=self.job_ms.summary(),
            gauges=gauges,
            counters=self.counters,
        )
        self._reset()
        return event
