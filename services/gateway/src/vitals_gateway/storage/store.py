"""The window store: every series of every host in Redis, at four resolutions.

Writes are one Lua call per event (raw slots, latest values) plus one per fleet partition
(last seen, summary, rollup bookkeeping), sent in pipelines (per node on a cluster); reads
are GETRANGEs of exactly the slots asked for. The layout and arithmetic
are in `windows.py`. Read API for the routes and the analytics:

- `read(host, metric, start, end, step=None)` -> {series: `Window`}, None for an unknown host
- `query(host, series, start, end, step=None)` -> `Window` (points at the chosen resolution)
- `query_many(host, [series, ...], start, end, step=None)` -> {series: `Window`}
- `latest(host)` -> the host's latest metrics event (JSON bytes) or None
- `series_names(host)` -> the names of the series the host has
- `hosts()` -> host -> last seen (epoch seconds); `fleet()` -> host -> summary (JSON bytes)
- `heads([host, ...])` -> per host: last seen, latest metrics event, series names and
  latest check results, in one round trip
- `query_batch(host, [Read, ...])` -> per read: {series: `Window`}, in one round trip

`write_rollups(host, resolution, rows)` stores rolled-up slots with explicit times (history
imported or backfilled; the roller computes them itself from what ingest writes).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from redis.exceptions import NoScriptError

from vitals_core import keys, series
from vitals_gateway.storage import luascripts, sealing, windows
from vitals_gateway.storage.redisconn import Pipe, RedisClient
from vitals_gateway.storage.redisio import Script, as_bytes, as_text, texts
from vitals_gateway.storage.rollups import Rollups, due_member
from vitals_gateway.storage.windows import RAW, Agg, Points, Resolution, WindowError

log = logging.getLogger("vitals.gateway.store")

_NAN4 = windows.empty_slot(RAW)


@dataclass
class Write:
    """One telemetry event to store: its latest-value document and its points.

    Series names must not contain a newline (the ingest drops such names).
    """

    host: str
    ts: float
    ts_field: str  # `metrics`, `app:<name>`, `check:<name>`, `info`
    latest_key: str
    latest_field: str  # '' = the latest key is a string, else a hash field
    doc: bytes
    summary: bytes = b""
    names: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass
class WriteResult:
    written: int = 0
    failed: int = 0
    series_dropped: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class HostHead:
    """What a host's latest keys hold (documents as stored: JSON bytes)."""

    last_seen: float | None  # None: the host never reported
    latest: bytes | None  # the latest metrics event
    names: list[str]  # its series, naturally sorted
    checks: dict[str, bytes]  # check name -> latest check result


class Read(NamedTuple):
    """Some series of one host over [start, end], at the resolution `windows.pick` chooses."""

    names: Sequence[str]
    start: float
    end: float
    step: int | None = None


@dataclass
class Window:
    resolution: Resolution
    step: int
    start: float
    end: float
    points: Points


class WindowStore(Rollups):
    def __init__(self, redis: RedisClient, max_series_per_host: int = 2000) -> None:
        self.redis = redis
        self.max_series = max_series_per_host
        self.ingest_script = Script(luascripts.INGEST)
        self.fleet_script = Script(luascripts.FLEET)
        self.write_script = Script(luascripts.WRITE_SLOTS)
        self.read_script = Script(luascripts.READ_SLOTS)
        self.claim_script = Script(luascripts.CLAIM)
        self.replace_script = Script(luascripts.REPLACE)
        self.chunks_sealed = 0  # keys this store rewrote in their sealed form

    async def load(self) -> None:
        for script in (
            self.ingest_script,
            self.fleet_script,
            self.write_script,
            self.read_script,
            self.claim_script,
            self.replace_script,
        ):
            await script.load(self.redis)

    # --- writing ---------------------------------------------------------------------------

    async def write(self, writes: Sequence[Write], now: float | None = None) -> WriteResult:
        """Store a batch of events in one round trip; a bad one fails alone."""
        now = time.time() if now is None else now
        result = WriteResult()
        if not writes:
            return result
        fleet: dict[int, list[Any]] = {}
        for w in writes:
            minute = windows.MINUTE.bucket(w.ts)
            fleet.setdefault(keys.partition(w.host), []).extend(
                (
                    w.host,
                    repr(w.ts),
                    w.summary,
                    due_member(windows.MINUTE, minute, w.host) if w.names else "",
                    repr(windows.due_at(windows.MINUTE, minute, now)),
                )
            )
        for attempt in (1, 2):
            pipe = self.redis.pipeline(transaction=False)
            for w in writes:
                self._queue_write(pipe, w, now)
            for part, rows in fleet.items():
                self.fleet_script.queue(pipe, _fleet_keys(part), rows)
            answers = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(a, NoScriptError) for a in answers):
                await self.load()
                continue
            break
        late: list[Write] = []
        for w, answer in zip(writes, answers, strict=False):
            if isinstance(answer, Exception):
                result.failed += 1
                result.errors.append(str(answer))
            elif answer[2]:
                late.append(w)  # met a sealed chunk: written below
            else:
                result.written += 1
                result.series_dropped += int(answer[1])
        for answer in answers[len(writes) :]:
            # Stored, but the fleet's view of these hosts did not move: say so.
            if isinstance(answer, Exception):
                result.errors.append(str(answer))
        if late:
            await self._write_late(late, now, result)
        return result

    async def _write_late(self, late: Sequence[Write], now: float, result: WriteResult) -> None:
        """Late points whose raw chunk was sealed: unseal it, write them again."""
        for _ in range(3):
            chunk_keys = {
                keys.series_chunk(w.host, RAW.name, n, RAW.chunk_of(w.ts))
                for w in late
                for n in w.names
            }
            await sealing.unseal(self.redis, self.replace_script, sorted(chunk_keys))
            pipe = self.redis.pipeline(transaction=False)
            for w in late:
                self._queue_write(pipe, w, now)
                sealing.queue_schedule(pipe, RAW, RAW.chunk_of(w.ts), w.host, now)
            answers = await pipe.execute(raise_on_error=False)
            again: list[Write] = []
            for w, answer in zip(late, answers[::2], strict=True):
                if isinstance(answer, Exception):
                    result.failed += 1
                    result.errors.append(str(answer))
                elif answer[2]:
                    again.append(w)
                else:
                    result.written += 1
                    result.series_dropped += int(answer[1])
            late = again
            if not late:
                return
        result.failed += len(late)
        result.errors.append("late points kept meeting sealed chunks")

    def _queue_write(self, pipe: Pipe, w: Write, now: float) -> None:
        chunk = RAW.chunk_of(w.ts)
        head, tail = keys.series_chunk_affixes(w.host, RAW.name, chunk)
        self.ingest_script.queue(
            pipe,
            [
                keys.latest_ts(w.host),
                w.latest_key,
                keys.series_names(w.host),
                *[head + name + tail for name in w.names],
            ],
            [
                repr(w.ts),
                w.ts_field,
                w.latest_field,
                w.doc,
                chunk,
                RAW.expire_at(chunk),
                RAW.offset(w.ts),
                RAW.chunk_bytes,
                _NAN4,
                self.max_series,
                windows.pack_floats(w.values) if w.names else b"",
                len(head.encode()) + 1,  # where a key's series name starts
                len(tail),  # and how much of the key follows it
                "1" if sealing.may_be_sealed(RAW, chunk, now) else "",
            ],
        )

    # --- reading ---------------------------------------------------------------------------

    async def _every_partition(self, key: Callable[[int], str]) -> dict[str, bytes]:
        """HGETALL of one hash per partition, merged: one pipeline (per node on a cluster)."""
        pipe = self.redis.pipeline(transaction=False)
        for part in range(keys.PARTITIONS):
            pipe.hgetall(key(part))
        out: dict[str, bytes] = {}
        for raw in await pipe.execute():
            out.update((as_text(h), as_bytes(v)) for h, v in raw.items())
        return out

    async def hosts(self) -> dict[str, float]:
        return {h: float(ts) for h, ts in (await self._every_partition(keys.hosts)).items()}

    async def last_seen(self, host: str) -> float | None:
        ts = await self.redis.hget(keys.hosts(keys.partition(host)), host)
        return None if ts is None else float(ts)

    async def latest(self, host: str) -> bytes | None:
        value = await self.redis.get(keys.latest(host))
        return None if value is None else as_bytes(value)

    async def latest_many(self, hosts: Sequence[str]) -> list[bytes | None]:
        if not hosts:
            return []
        return await self.get_many([keys.latest(h) for h in hosts])

    async def get_many(self, names: Sequence[str]) -> list[bytes | None]:
        """GET of keys in different slots (an MGET would be refused by a cluster)."""
        if not names:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            pipe.get(name)
        return [None if v is None else as_bytes(v) for v in await pipe.execute()]

    async def fleet(self) -> dict[str, bytes]:
        return await self._every_partition(keys.fleet)

    async def series_names(self, host: str) -> list[str]:
        return sorted(texts(await self.redis.zrange(keys.series_names(host), 0, -1)), key=natural)

    async def heads(self, hosts: Sequence[str]) -> list[HostHead]:
        """Each host's last seen, latest sample, series names and checks: one round trip."""
        if not hosts:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for h in hosts:
            pipe.hget(keys.hosts(keys.partition(h)), h)
            pipe.get(keys.latest(h))
            pipe.zrange(keys.series_names(h), 0, -1)
            pipe.hgetall(keys.checks_latest(h))
        answers = await pipe.execute()
        return [
            HostHead(
                last_seen=None if seen is None else float(seen),
                latest=None if latest is None else as_bytes(latest),
                names=sorted(texts(names), key=natural),
                checks={as_text(k): as_bytes(v) for k, v in checks.items()},
            )
            for seen, latest, names, checks in (
                answers[i : i + 4] for i in range(0, len(answers), 4)
            )
        ]

    async def query(
        self,
        host: str,
        series: str,
        start: float,
        end: float,
        step: int | None = None,
        now: float | None = None,
    ) -> Window:
        return (await self.query_many(host, [series], start, end, step, now))[series]

    async def query_many(
        self,
        host: str,
        names: Sequence[str],
        start: float,
        end: float,
        step: int | None = None,
        now: float | None = None,
    ) -> dict[str, Window]:
        """Points of several series of one host over [start, end], in one round trip."""
        now = time.time() if now is None else now
        pipe = self.redis.pipeline(transaction=False)
        plan = self._plan(pipe, host, names, start, end, step, now)
        return plan(await pipe.execute())

    async def query_batch(
        self, host: str, reads: Sequence[Read], now: float | None = None
    ) -> list[dict[str, Window]]:
        """Several reads of one host's series (each its own range), in one round trip."""
        now = time.time() if now is None else now
        pipe = self.redis.pipeline(transaction=False)
        plans = []
        for r in reads:
            first = len(pipe)
            plans.append((first, self._plan(pipe, host, r.names, r.start, r.end, r.step, now)))
        answers = await pipe.execute() if len(pipe) else []
        ends = [first for first, _ in plans[1:]] + [len(answers)]
        return [plan(answers[first:end]) for (first, plan), end in zip(plans, ends, strict=True)]

    async def read(
        self,
        host: str,
        metric: str,
        start: float,
        end: float,
        step: int | None = None,
        now: float | None = None,
    ) -> dict[str, Window] | None:
        """`metric` of `host` (or, without labels, every labelled series of that name).

        None for an unknown host, {} when it has no such series. The usual case, an exact
        series name, takes one round trip: the host, its names and the points together.
        """
        now = time.time() if now is None else now
        pipe = self.redis.pipeline(transaction=False)
        pipe.hexists(keys.hosts(keys.partition(host)), host)
        pipe.zrange(keys.series_names(host), 0, -1)
        plan = self._plan(pipe, host, [metric], start, end, step, now)
        known, names, *points = await pipe.execute()
        if not known:
            return None
        have = set(texts(names))
        if metric in have:
            return plan(points)
        if "{" in metric:
            return {}
        labelled = sorted((n for n in have if series.parse_series(n)[0] == metric), key=natural)
        return await self.query_many(host, labelled, start, end, step, now) if labelled else {}

    def _plan(
        self,
        pipe: Pipe,
        host: str,
        names: Sequence[str],
        start: float,
        end: float,
        step: int | None,
        now: float,
    ) -> Callable[[Sequence[bytes]], dict[str, Window]]:
        """Queue the reads; returns how to turn their answers into windows.

        A chunk that may be sealed is read whole (GET: a few KB), any other one only for
        the slots asked for (GETRANGE)."""
        res = windows.pick(start, end, now, step)
        out_step = max(step or res.step, res.step)
        spans = windows.spans(res, start, end)
        whole = [sealing.may_be_sealed(res, span.chunk, now) for span in spans]
        for name in names:
            for span, all_of_it in zip(spans, whole, strict=True):
                key = keys.series_chunk(host, res.name, name, span.chunk)
                if all_of_it:
                    pipe.get(key)
                else:
                    pipe.getrange(key, span.offset, span.offset + span.length - 1)

        def decode(answers: Sequence[bytes]) -> dict[str, Window]:
            result: dict[str, Window] = {}
            i = 0
            for name in names:
                points = Points(raw=res is RAW)
                for span, all_of_it in zip(spans, whole, strict=True):
                    data = answers[i]
                    if all_of_it:
                        data = sealing.slots(data, span.offset, span.length, whole=True)
                    windows.decode_span(res, span, data, start, end, points)
                    i += 1
                if out_step != res.step:
                    points = windows.downsample(points, out_step)
                result[name] = Window(res, out_step, start, end, points)
            return result

        return decode

    # --- writing history -------------------------------------------------------------------

    async def write_rollups(
        self, host: str, res: Resolution, rows: Sequence[tuple[float, Mapping[str, Agg]]]
    ) -> int:
        """Store rolled-up slots at explicit times (`res` is not raw): one row per bucket,
        its series' rollups. New series join the host's index within its series cap; a
        series beyond the cap is not stored. Returns the slots written."""
        if res is RAW:
            raise WindowError("raw points are written as events (`write`)")
        calls: list[tuple[list[str], list[Any]]] = []
        chunks: set[int] = set()
        slots = 0
        for ts, aggs in rows:
            if not aggs:
                continue
            bucket = res.bucket(ts)
            chunk = res.chunk_of(bucket)
            args = [*windows.slot_write_args(res, bucket, aggs.items()), self.max_series]
            calls.append(
                (
                    [
                        keys.series_names(host),
                        *(keys.series_chunk(host, res.name, n, chunk) for n in aggs),
                    ],
                    args,
                )
            )
            chunks.add(chunk)
            slots += len(aggs)
        if not calls:
            return 0
        dropped = 0
        for attempt in range(4):
            pipe = self.redis.pipeline(transaction=False)
            for keys_, args in calls:
                self.write_script.queue(pipe, keys_, args)
            answers = await pipe.execute(raise_on_error=False)
            if attempt == 0 and any(isinstance(a, NoScriptError) for a in answers):
                await self.load()
                continue
            errors = [a for a in answers if isinstance(a, Exception)]
            if errors:
                raise errors[0]
            dropped += sum(int(a[0]) for a in answers)
            # Writes that met a sealed chunk: unseal it, write those again.
            again = [
                (keys_, args, [int(i) for i in a[1]])
                for (keys_, args), a in zip(calls, answers, strict=True)
                if a[1]
            ]
            if not again:
                break
            await sealing.unseal(
                self.redis, self.replace_script, [k[i] for k, _, idx in again for i in idx]
            )
            calls = [(keys_, args) for keys_, args, _ in again]
        else:
            raise WindowError("history could not be written: its chunks kept being sealed")
        schedule = self.redis.pipeline(transaction=False)
        for chunk in chunks:
            sealing.queue_schedule(schedule, res, chunk, host, time.time())
        await schedule.execute()
        return slots - dropped


_DIGITS = re.compile(r"(\d+)")


def natural(name: str) -> list[object]:
    """Sort key putting `core=9` before `core=10`."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in _DIGITS.split(name)]


def _fleet_keys(part: int) -> list[str]:
    """The FLEET script's keys for one partition."""
    return [keys.hosts(part), keys.fleet(part), keys.fleet_ts(part), keys.rollup_due(part)]


__all__ = ["HostHead", "Read", "Window", "WindowError", "WindowStore", "Write", "WriteResult"]
