"""Rolling-window arithmetic: resolutions, slot layout, rollups, choice of resolution.

Pure: no Redis, no clock. Every series of every host is kept at four resolutions. Each
resolution stores fixed-width slots in time-chunks (one Redis string per series per chunk,
expiring `retention` after the chunk ends), so a write is one SETRANGE and a read is one
GETRANGE per chunk it overlaps: a query reads only the slots it returns.

- raw: one float32 per second (NaN = no sample), 1 h
- 1m, 10m, 1h: five float32 per bucket (count, min, max, mean, last; count 0 = empty),
  24 h, 7 d and 90 d

A bucket is rolled up from the resolution below it once it has ended (plus a grace
period), recomputed whole from what is stored: doing it twice gives the same slot, so
replicas and redeliveries never double-count.
"""

from __future__ import annotations

import math
import operator
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import compress, pairwise
from typing import Any, NamedTuple

NAN = float("nan")
F32_MAX = 3.4028234663852886e38
MAX_POINTS = 20_000


class WindowError(ValueError):
    """A query the windows cannot answer; the message says why."""


@dataclass(frozen=True)
class Resolution:
    name: str
    step: int  # seconds per slot
    retention: int  # seconds a slot is kept, at least
    chunk: int  # seconds per Redis key
    width: int  # bytes per slot
    grace: int  # seconds after a bucket ends before it is rolled up from the level below

    @property
    def slots(self) -> int:
        return self.chunk // self.step

    @property
    def chunk_bytes(self) -> int:
        return self.slots * self.width

    def bucket(self, t: float) -> int:
        s = int(t)
        return s - s % self.step

    def chunk_of(self, t: float) -> int:
        s = int(t)
        return s - s % self.chunk

    def offset(self, t: float) -> int:
        """Byte offset of `t`'s slot inside its chunk."""
        s = int(t)
        return ((s - self.chunk_of(s)) // self.step) * self.width

    def expire_at(self, chunk_start: int) -> int:
        return chunk_start + self.chunk + self.retention


RAW = Resolution("raw", step=1, retention=3600, chunk=600, width=4, grace=0)
MINUTE = Resolution("1m", step=60, retention=86400, chunk=7200, width=20, grace=5)
TEN_MINUTES = Resolution("10m", step=600, retention=7 * 86400, chunk=86400, width=20, grace=15)
HOUR = Resolution("1h", step=3600, retention=90 * 86400, chunk=10 * 86400, width=20, grace=30)
RESOLUTIONS = (RAW, MINUTE, TEN_MINUTES, HOUR)
BY_NAME = {r.name: r for r in RESOLUTIONS}
# Each rolled-up resolution is computed from the one before it.
PARENT_OF = {RAW.name: MINUTE, MINUTE.name: TEN_MINUTES, TEN_MINUTES.name: HOUR}

RANGES = {
    "1h": 3600,
    "6h": 6 * 3600,
    "24h": 86400,
    "7d": 7 * 86400,
    "30d": 30 * 86400,
    "90d": 90 * 86400,
}


class Agg(NamedTuple):
    n: int  # samples behind it
    min: float
    max: float
    mean: float
    last: float


def due_at(parent: Resolution, bucket: int, now: float) -> float:
    """When the `parent` bucket that a write touched should be (re)computed."""
    return max(bucket + parent.step, now) + parent.grace


# --- rollups -----------------------------------------------------------------------------


def rollup(values: Iterable[float]) -> Agg | None:
    """Raw values in time order (NaN = no sample) -> their rollup, or None when all missing."""
    present = [v for v in values if v == v]  # NaN != NaN
    if not present:
        return None
    return Agg(len(present), min(present), max(present), sum(present) / len(present), present[-1])


def combine(aggs: Iterable[Agg | None]) -> Agg | None:
    """Rollups in time order -> one rollup: mean weighted by count, last of the latest."""
    count = 0
    total = 0.0
    lo = math.inf
    hi = -math.inf
    last = NAN
    for a in aggs:
        if a is None or a.n <= 0:
            continue
        count += a.n
        total += a.mean * a.n
        lo = min(lo, a.min)
        hi = max(hi, a.max)
        last = a.last
    if not count:
        return None
    return Agg(count, lo, hi, total / count, last)


# --- slot encoding -------------------------------------------------------------------------

_BIG_ENDIAN = sys.byteorder == "big"


def _clamp(v: float) -> float:
    if v != v:
        return v
    return max(-F32_MAX, min(F32_MAX, v))


_INF = float("inf")


def pack_floats(values: Iterable[float]) -> bytes:
    """Little-endian float32s; values beyond float32's range are clamped."""
    a = array("f", values)
    if a.count(_INF) or a.count(-_INF):
        a = array("f", [_clamp(v) for v in values])
    if _BIG_ENDIAN:
        a.byteswap()
    return a.tobytes()


def unpack_floats(data: bytes) -> list[float]:
    a = array("f")
    a.frombytes(data[: len(data) - len(data) % 4])
    if _BIG_ENDIAN:
        a.byteswap()
    return a.tolist()


def pack_agg(agg: Agg) -> bytes:
    return pack_floats((float(agg.n), agg.min, agg.max, agg.mean, agg.last))


def unpack_aggs(data: bytes) -> list[Agg | None]:
    f = unpack_floats(data)
    out: list[Agg | None] = []
    for i in range(0, len(f) - len(f) % 5, 5):
        count = int(f[i])
        out.append(Agg(count, f[i + 1], f[i + 2], f[i + 3], f[i + 4]) if count > 0 else None)
    return out


def empty_slot(res: Resolution) -> bytes:
    """What a fresh chunk is filled with: NaN for raw, count 0 for rollups."""
    return pack_floats([NAN]) if res is RAW else bytes(res.width)


def slot_write_args(res: Resolution, bucket: int, named: Iterable[tuple[str, Agg]]) -> list[Any]:
    """The write script's arguments for one bucket of `res` (its chunk, expiry, place in the
    chunk and layout) and the named series' aggregates to put there."""
    pairs = list(named)
    chunk = res.chunk_of(bucket)
    return [
        chunk,
        res.expire_at(chunk),
        res.offset(bucket),
        res.chunk_bytes,
        empty_slot(res),
        res.width,
        b"".join(pack_agg(a) for _, a in pairs),
        "\n".join(n for n, _ in pairs),
    ]


# --- reading -------------------------------------------------------------------------------


class Span(NamedTuple):
    chunk: int  # chunk start (s), names the Redis key
    offset: int  # byte offset of the first slot
    length: int  # bytes to read
    first: int  # time of the first slot (s)


def spans(res: Resolution, start: float, end: float) -> list[Span]:
    """The GETRANGEs that cover the buckets of [start, end], one per chunk."""
    first = res.bucket(start)
    last = res.bucket(end)
    out = []
    t = first
    while t <= last:
        chunk = res.chunk_of(t)
        stop = min(last, chunk + res.chunk - res.step)
        out.append(Span(chunk, res.offset(t), ((stop - t) // res.step + 1) * res.width, t))
        t = stop + res.step
    return out


@dataclass
class Points:
    """Columnar points, `t` ascending. Raw points (`raw`) have only `t` and `mean`: each is
    one sample, its min, max and last equal to it and its count 1."""

    t: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    min: list[float] = field(default_factory=list)
    max: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    raw: bool = False

    def add(self, t: int, agg: Agg) -> None:
        self.t.append(t)
        self.mean.append(agg.mean)
        self.min.append(agg.min)
        self.max.append(agg.max)
        self.last.append(agg.last)
        self.count.append(agg.n)

    def aggs(self) -> list[tuple[int, Agg]]:
        if self.raw:
            return [(t, Agg(1, v, v, v, v)) for t, v in zip(self.t, self.mean, strict=True)]
        return [
            (t, Agg(c, lo, hi, m, la))
            for t, c, lo, hi, m, la in zip(
                self.t, self.count, self.min, self.max, self.mean, self.last, strict=True
            )
        ]

    def columns(self) -> dict[str, list[int] | list[float]]:
        if self.raw:
            return {"t": self.t, "mean": self.mean}
        return {"t": self.t, "mean": self.mean, "min": self.min, "max": self.max,
                "last": self.last, "count": self.count}  # fmt: skip

    def __len__(self) -> int:
        return len(self.t)


def decode_span(
    res: Resolution, span: Span, data: bytes, start: float, end: float, into: Points
) -> None:
    """Append the slots of one GETRANGE answer that hold data and lie in [start, end]."""
    # Only the slots inside [start, end]; then keep those holding data (C-level loops).
    first = max(0, (res.bucket(start) - span.first) // res.step)
    stop = (res.bucket(end) - span.first) // res.step + 1
    if stop <= first:
        return
    times = range(span.first + first * res.step, span.first + stop * res.step, res.step)
    if res is RAW:
        into.raw = True
        values = unpack_floats(data)[first:stop]
        present = list(map(operator.eq, values, values))  # False for NaN
        into.t.extend(compress(times, present))
        into.mean.extend(compress(values, present))
        return
    f = unpack_floats(data)[first * 5 : stop * 5]
    counts = f[0::5]
    present = list(map(bool, counts))
    into.t.extend(compress(times, present))
    into.count.extend(map(int, compress(counts, present)))
    into.min.extend(compress(f[1::5], present))
    into.max.extend(compress(f[2::5], present))
    into.mean.extend(compress(f[3::5], present))
    into.last.extend(compress(f[4::5], present))


def downsample(points: Points, step: int) -> Points:
    """Merge points into buckets of `step` seconds aligned on the epoch."""
    out = Points()
    group: list[Agg | None] = []
    current: int | None = None
    for t, agg in points.aggs():
        b = t - t % step
        if current is not None and b != current:
            merged = combine(group)
            if merged is not None:
                out.add(current, merged)
            group = []
        current = b
        group.append(agg)
    if current is not None:
        merged = combine(group)
        if merged is not None:
            out.add(current, merged)
    return out


def _typical_spacing(t: list[int]) -> int:
    spacings = sorted(b - a for a, b in pairwise(t))
    return spacings[(len(spacings) - 1) // 2]  # the lower median


def gapped(points: Points, end: float) -> dict[str, list[Any]]:
    """`points.columns()` with a row of nulls wherever the series has no data: after a
    spacing well beyond its usual one (a second of jitter aside), and after its last point
    when the range goes on well past it. Charts break their line at a null."""
    columns: dict[str, list[Any]] = dict(points.columns())
    t = points.t
    if len(t) < 2:
        return columns
    usual = _typical_spacing(t)
    limit = max(1.5 * usual, usual + 2)
    at = [i + 1 for i in range(len(t) - 1) if t[i + 1] - t[i] > limit]
    trailing = end - t[-1] > limit
    if not at and not trailing:
        return columns
    out: dict[str, list[Any]] = {name: [] for name in columns}
    begin = 0
    for cut in [*at, len(t)]:
        for name, values in columns.items():
            out[name].extend(values[begin:cut])
        if cut < len(t) or trailing:
            for name in columns:
                out[name].append(t[cut - 1] + usual if name == "t" else None)
        begin = cut
    return out


# --- choosing a resolution -----------------------------------------------------------------


def parse_range(text: str) -> int:
    if text not in RANGES:
        raise WindowError(f"range must be one of {', '.join(RANGES)} (got {text!r})")
    return RANGES[text]


def pick(start: float, end: float, now: float, step: int | None = None) -> Resolution:
    """The resolution a query over [start, end] reads.

    The finest one that still holds `start`; with a `step`, the coarsest one whose slots are
    no wider than it (fewer slots to read, then merged to `step`).
    """
    if end <= start:
        raise WindowError("end must be after start")
    if step is not None and step < 1:
        raise WindowError("step must be at least 1 second")
    held = [r for r in RESOLUTIONS if start >= now - r.retention - r.step]
    if not held:
        raise WindowError(
            f"start is older than the longest retention ({HOUR.retention // 86400} d)"
        )
    choice = held[0]
    if step is not None:
        fitting = [r for r in held if r.step <= step]
        if fitting:
            choice = fitting[-1]
    out_step = max(step or choice.step, choice.step)
    if (end - start) / out_step > MAX_POINTS:
        raise WindowError(
            f"that would be more than {MAX_POINTS} points: use a larger step or a shorter range"
        )
    return choice
