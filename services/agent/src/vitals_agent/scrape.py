"""Prometheus `/metrics` pages turned into `AppMetrics`, as `ScrapeSettings` maps them.

Parsing is `prometheus_client`'s. Counters become the increase over the scrape window (a
counter that went down restarted with its application: its new value is the increase);
the first scrape has no window yet and reports none. Histograms and summaries mapped to
`response_ms` or `job_ms` become percentiles; a name with `seconds` in it is converted to
milliseconds.
"""

from __future__ import annotations

import asyncio
import math
import re
import urllib.request
from collections.abc import Iterable
from typing import Any, NamedTuple

from prometheus_client.parser import text_string_to_metric_families

from vitals_agent import __version__
from vitals_agent.appmetrics import error_rate, throughput
from vitals_core.events import AppMetrics, Percentiles
from vitals_core.settings import ScrapeSettings
from vitals_core.settings.agent import APP_FIELDS

MAX_PAGE = 8 << 20
COUNT_FIELDS = ("jobs_completed", "jobs_failed", "requests", "errors")
_SELECTOR = re.compile(r"^\s*([A-Za-z_:][\w:]*)\s*(?:\{(.*)\})?\s*$")
_LABEL = re.compile(r'\s*([A-Za-z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


class Selector(NamedTuple):
    name: str
    labels: tuple[tuple[str, str], ...]


def parse_selector(text: str) -> Selector:
    """`name` or `name{label="value",...}`."""
    match = _SELECTOR.match(text)
    if not match:
        raise ValueError(f'{text!r} is not a series name or name{{label="value"}}')
    labels = tuple((m.group(1), m.group(2)) for m in _LABEL.finditer(match.group(2) or ""))
    return Selector(match.group(1), labels)


class Sample(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float


def _matches(family: Any, sel: Selector) -> list[Sample]:
    names = {sel.name}
    if family.name == sel.name:
        names |= {f"{sel.name}_total", f"{sel.name}_bucket", f"{sel.name}_sum",
                  f"{sel.name}_count"}  # fmt: skip
    return [
        Sample(s.name, s.labels, float(s.value))
        for s in family.samples
        if s.name in names and all(s.labels.get(k) == v for k, v in sel.labels)
    ]


class Scraper:
    """Turns successive pages of one application into events; remembers counter values."""

    def __init__(self, settings: ScrapeSettings, host: str) -> None:
        self.settings = settings
        self.host = host
        self.selectors = {source: parse_selector(source) for source in settings.series}
        self._prev: dict[tuple[str, str], float] = {}
        self._prev_mono: float | None = None
        self.missing: set[str] = set()

    def convert(self, page: str, wall: float, mono: float) -> AppMetrics:
        families = list(text_string_to_metric_families(page))
        seconds = mono - self._prev_mono if self._prev_mono is not None else 0.0
        self._prev_mono = mono
        fields: dict[str, Any] = {}
        gauges: dict[str, float] = {}
        counters: dict[str, float] = {}
        self.missing = set()
        for source, target in self.settings.series.items():
            sel = self.selectors[source]
            hits = [(f, s) for f in families for s in _matches(f, sel)]
            if not hits:
                self.missing.add(source)
                continue
            kind = hits[0][0].type
            samples = [s for _, s in hits]
            if target in ("response_ms", "job_ms"):
                fields[target] = self._distribution(source, kind, samples)
            elif kind == "counter":
                total = sum(s.value for s in samples if not s.name.endswith("_created"))
                increase = self._increase(source, "", total)
                if target in COUNT_FIELDS:
                    fields[target] = round(increase or 0.0)
                else:
                    counters[target] = increase or 0.0
            else:
                value = sum(s.value for s in samples)
                if target in APP_FIELDS:
                    fields[target] = int(value) if target in COUNT_FIELDS else value
                else:
                    gauges[target] = value
        return _event(self.host, self.settings.app, wall, seconds, fields, gauges, counters)

    def _increase(self, source: str, part: str, value: float) -> float | None:
        key = (source, part)
        prev = self._prev.get(key)
        self._prev[key] = value
        if prev is None:
            return None
        return value - prev if value >= prev else value

    def _distribution(self, source: str, kind: str, samples: list[Sample]) -> Percentiles | None:
        scale = 1000.0 if "seconds" in source else 1.0
        if kind == "summary":
            return _summary(
                samples, scale, self._increase(source, "count", _sum(samples, "_count"))
            )
        if kind != "histogram":
            return None
        buckets: dict[float, float] = {}
        for s in samples:
            if s.name.endswith("_bucket") and "le" in s.labels:
                le = float(s.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + s.value
        increases = {le: self._increase(source, f"le={le}", v) for le, v in buckets.items()}
        count = self._increase(source, "count", _sum(samples, "_count"))
        total = self._increase(source, "sum", _sum(samples, "_sum"))
        if count is None or total is None or not count:
            return None
        cumulative = sorted((le, inc or 0.0) for le, inc in increases.items())
        return Percentiles(
            count=round(count),
            mean=round(total / count * scale, 3),
            p50=round(bucket_quantile(0.50, cumulative) * scale, 3),
            p95=round(bucket_quantile(0.95, cumulative) * scale, 3),
            p99=round(bucket_quantile(0.99, cumulative) * scale, 3),
            # A histogram cannot tell the max; the highest finite bound reached is the best bound.
            max=round(_highest_reached(cumulative) * scale, 3),
        )


def _sum(samples: Iterable[Sample], suffix: str) -> float:
    return sum(s.value for s in samples if s.name.endswith(suffix))


def _summary(samples: list[Sample], scale: float, count: float | None) -> Percentiles | None:
    quantiles = {float(s.labels["quantile"]): s.value for s in samples if "quantile" in s.labels}
    if not quantiles:
        return None

    def q(x: float) -> float:
        value = quantiles.get(x, math.nan)
        return 0.0 if math.isnan(value) else round(value * scale, 3)

    return Percentiles(count=int(count or 0), p50=q(0.5), p95=q(0.95), p99=q(0.99))


def bucket_quantile(q: float, cumulative: list[tuple[float, float]]) -> float:
    """Prometheus' `histogram_quantile`: linear inside the bucket the rank falls into."""
    if not cumulative or cumulative[-1][1] <= 0:
        return 0.0
    rank = q * cumulative[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in cumulative:
        if count >= rank:
            if math.isinf(upper):
                return lower
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


def _highest_reached(cumulative: list[tuple[float, float]]) -> float:
    previous = 0.0
    finite = [(le, c) for le, c in cumulative if not math.isinf(le)]
    total = cumulative[-1][1] if cumulative else 0.0
    for le, count in finite:
        previous = le
        if count >= total:
            break
    return previous


def _event(
    host: str,
    app: str,
    wall: float,
    seconds: float,
    fields: dict[str, Any],
    gauges: dict[str, float],
    counters: dict[str, float],
) -> AppMetrics:
    requests = fields.get("requests", 0)
    errors = fields.get("errors", 0)
    completed = fields.get("jobs_completed", 0)
    failed = fields.get("jobs_failed", 0)
    return AppMetrics(
        ts=wall,
        host=host,
        app=app,
        window=round(seconds, 3),
        error_rate=error_rate(requests, errors, completed, failed),
        throughput_per_s=throughput(requests, completed, failed, seconds),
        gauges=gauges,
        counters=counters,
        **fields,
    )


def fetch(url: str, timeout: float) -> str:
    """The page's text (blocking: run it in a thread)."""
    request = urllib.request.Request(  # noqa: S310 (settings allow only http and https)
        url,
        headers={"User-Agent": f"vitals-agent/{__version__}", "Accept": "text/plain;version=0.0.4"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return bytes(response.read(MAX_PAGE)).decode("utf-8", "replace")


async def fetch_async(url: str, seconds: float) -> str:
    return await asyncio.to_thread(fetch, url, seconds)
