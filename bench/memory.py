"""Redis memory per series and per host at full retention, today's layout beside the sealed one.

Every chunk key a series holds at full retention (1 h of raw seconds, 24 h of minutes, 7 d
of ten minutes, 90 d of hours) is built and stored in a real Valkey twice: all chunks
plain (the layout before sealing), and with the rollup chunks past `sealing.seal_at`
sealed (`chunkcodec`), as the roller leaves them. `MEMORY USAGE` of every key is summed.

Series shapes, one series of each measured:
- `noisy`: a float that is different every second (network and disk rates): the worst case;
- `percent`: a percentage with one decimal, noisy (CPU, as psutil reports it);
- `integer`: a large integer that moves (bytes used), or a small one (temperature, processes);
- `constant`: a value that does not change (totals, idle devices, error counters at 0).
The recorded H100 host's series (the bench's sample) are each given one of these shapes by
name (`shape_of`); the host's figure is the sum. A rollup bucket is computed from 60 samples
drawn from its shape (its count is the true one), so 90 days are built in seconds.

    python -m bench.memory            # prints the table (starts its own Valkey)
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vitals_core import keys, series
from vitals_gateway.storage import chunkcodec, sealing, windows
from vitals_gateway.storage.redisconn import RedisClient, connect
from vitals_gateway.storage.windows import RAW, RESOLUTIONS, Resolution
from vitals_servers import RedisServer

Shape = Callable[[random.Random], float]

SHAPES: dict[str, Shape] = {
    "noisy": lambda r: r.uniform(0.0, 2e6),
    "percent": lambda r: round(r.uniform(0.0, 100.0), 1),
    "integer": lambda r: float(round(r.gauss(7.5e9, 2e8))),
    "constant": lambda r: 85520809984.0,
}
NOISY_DEVICES = ("vda", "vdb", "eth0", "lo")
# Built as at these moments, and averaged, so that every run gives the same figure: where
# the clock is in the chunks' cycles (how many are not sealed yet, how full the newest are)
# moves it by about 10 %. The moments are spread over the 10-day cycle of the hour chunks
# and fall at different places in the shorter ones.
MOMENTS = [1_800_000_000 + k * 216_000 + k * 1_957 for k in range(4)]


def shape_of(name: str) -> str:
    """Which shape a series of the recorded host is measured as."""
    metric, labels = series.parse_series(name)
    if metric.endswith(("_per_s", "_iops")):
        busy = any(d in labels.values() for d in NOISY_DEVICES)
        idle = "errors" in metric or "drops" in metric
        return "noisy" if busy and not idle else "constant"
    if metric.endswith(("percent", "utilization", "user", "system", "iowait")) or "load" in metric:
        return "constant" if metric.startswith(("swap", "disk.")) else "percent"
    if metric.endswith(("total", "free")) or metric.startswith(("swap", "disk.", "agent.")):
        return "constant"
    if metric.startswith("cpu.steal"):
        return "constant"
    return "integer"


def chunks_alive(res: Resolution, now: int) -> list[int]:
    """Chunk starts of `res` that exist at `now` (the oldest expire `retention` after their end)."""
    first = res.chunk_of(now - res.retention - res.chunk) + res.chunk
    return list(range(first, res.chunk_of(now) + 1, res.chunk))


def chunk_bytes(
    res: Resolution, chunk: int, now: int, shape: Shape, rng: random.Random, interval: int
) -> bytes:
    if res is RAW:
        return windows.pack_floats(
            shape(rng) if t <= now and t % interval == 0 else math.nan
            for t in range(chunk, chunk + res.chunk)
        )
    out = []
    for t in range(chunk, chunk + res.chunk, res.step):
        if t + res.step > now:
            out.append(windows.empty_slot(res))
            continue
        agg = windows.rollup(shape(rng) for _ in range(60))
        assert agg is not None
        out.append(windows.pack_agg(agg._replace(n=res.step // interval)))
    return b"".join(out)


async def series_bytes(
    redis: RedisClient, shape: Shape, interval: int, seed: int = 1
) -> dict[str, dict[str, int]]:
    """Bytes (`MEMORY USAGE`) one series holds at full retention, per resolution, plain and
    sealed (the mean over `MOMENTS`)."""
    rng = random.Random(seed)
    out: dict[str, dict[str, int]] = {"plain": {}, "sealed": {}}
    for res in RESOLUTIONS:
        for layout in out:
            out[layout][res.name] = 0
        for now, chunk in ((m, c) for m in MOMENTS for c in chunks_alive(res, m)):
            plain = chunk_bytes(res, chunk, now, shape, rng, interval)
            forms = {"plain": plain, "sealed": plain}
            if now >= sealing.seal_at(res, chunk):  # as the roller leaves it
                sealed = chunkcodec.seal(plain, res.width)
                forms["sealed"] = sealed if len(sealed) < len(plain) else plain
            for layout, blob in forms.items():
                key = keys.series_chunk("memory-bench", res.name, layout, chunk)
                await redis.set(key, blob)
                out[layout][res.name] += int(await redis.memory_usage(key) or 0)
                await redis.delete(key)
        for layout in out:
            out[layout][res.name] //= len(MOMENTS)
    return out


def points_per_series(interval: int) -> int:
    """Points a series holds at full retention (raw samples plus rollup buckets)."""
    return RAW.retention // interval + sum(r.retention // r.step for r in RESOLUTIONS[1:])


def host_series() -> list[str]:
    from bench.gateway import template

    return [n for n, _ in series.points(template("memory-bench"))]


async def measure(redis: RedisClient, intervals: tuple[int, ...] = (1, 5)) -> dict[str, Any]:
    names = host_series()
    mix = Counter(shape_of(n) for n in names)
    result: dict[str, Any] = {"series": len(names), "mix": dict(mix), "by_interval": {}}
    for interval in intervals:
        shapes = {s: await series_bytes(redis, f, interval) for s, f in SHAPES.items()}
        per_shape = {
            s: {layout: sum(v.values()) for layout, v in b.items()} for s, b in shapes.items()
        }
        host = {
            layout: sum(per_shape[s][layout] * n for s, n in mix.items())
            for layout in ("plain", "sealed")
        }
        result["by_interval"][str(interval)] = {
            "points_per_series": points_per_series(interval),
            "per_shape": per_shape,
            "by_resolution": shapes,
            "host": host,
        }
    return result


def report(m: dict[str, Any]) -> str:
    lines = [
        f"Redis memory at full retention (MEMORY USAGE), {m['series']} series per host "
        f"({', '.join(f'{n} {s}' for s, n in sorted(m['mix'].items()))}):"
    ]
    for interval, r in m["by_interval"].items():
        pts = r["points_per_series"]
        lines.append(f"  agent every {interval} s ({pts} points per series):")
        lines.append(
            f"    {'series shape':<12} {'before B/series':>16} {'after B/series':>15} "
            f"{'before B/point':>15} {'after B/point':>14} {'ratio':>6}"
        )
        for shape, b in r["per_shape"].items():
            lines.append(
                f"    {shape:<12} {b['plain']:>16,} {b['sealed']:>15,} {b['plain'] / pts:>15.1f} "
                f"{b['sealed'] / pts:>14.1f} {b['plain'] / b['sealed']:>5.1f}x"
            )
        h = r["host"]
        lines.append(
            f"    host: before {h['plain'] / 2**20:.2f} MiB, after {h['sealed'] / 2**20:.2f} MiB "
            f"({h['plain'] / h['sealed']:.1f}x less); "
            f"{h['sealed'] / m['series']:,.0f} B per series on average"
        )
    return "\n".join(lines)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp)) as server:
        redis = connect(server.url)
        try:
            m = await measure(redis)
        finally:
            await redis.aclose()
    print(report(m))
    if "--json" in sys.argv:
        print(json.dumps(m))


if __name__ == "__main__":
    asyncio.run(main())
