"""Sizing Redis for a fleet, from figures measured here on a real Valkey.

- memory per host at full retention (`bench.memory`: the recorded H100 host's series, in
  the layout the gateway keeps, sealed chunks included), with an agent every 1 s and 5 s;
- append-only-file write rate per host, with an agent every 1 s and 5 s: `SIM_HOSTS` hosts'
  samples written through the window store for `SIM_MINUTES` minutes of sample time, then
  rolled up and their raw chunks sealed, as the gateway does; the growth of the AOF
  (`aof_current_size`) divided by host-seconds;
- host counts that fit in 2, 16 and 64 GiB of RAM: `USABLE` of it given to Redis'
  `maxmemory` (the rest for the copy-on-write of AOF rewrites and snapshots, and the OS).

    python -m bench.sizing            # prints the Markdown table docs/sizing.md shows
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.gateway import template
from bench.memory import measure
from vitals_core import keys, series
from vitals_gateway.storage.redisconn import RedisClient, connect
from vitals_gateway.storage.store import WindowStore, Write
from vitals_gateway.storage.windows import RAW
from vitals_servers import RedisServer

SIM_HOSTS = int(os.environ.get("SIM_HOSTS", "20"))
SIM_MINUTES = int(os.environ.get("SIM_MINUTES", "20"))
USABLE = 0.75
RAM_GIB = (2, 16, 64)


async def aof_bytes(redis: RedisClient) -> int:
    return int((await redis.info("persistence"))["aof_current_size"])


async def aof_rate(redis: RedisClient, interval: int) -> float:
    """AOF bytes written per host per second of agent time."""
    store = WindowStore(redis)
    await store.load()
    await redis.flushall()
    # A rewrite would shrink the file mid-measurement.
    await redis.config_set("auto-aof-rewrite-percentage", 0)
    names, values = zip(*series.points(template("sizing")), strict=True)
    hosts = [f"sizing-{interval}-{i:03d}" for i in range(SIM_HOSTS)]
    seconds = SIM_MINUTES * 60
    now = time.time()
    base = RAW.chunk_of(now - seconds - 300)
    before = await aof_bytes(redis)
    for t in range(base, base + seconds, interval):
        doc = b'{"ts":%d}' % t
        await store.write(
            [
                Write(h, float(t), "metrics", keys.latest(h), "", doc, b"{}", [*names], [*values])
                for h in hosts
            ],
            now,
        )
    # The rollups, then the raw chunks' sealing (due ten minutes after their roll).
    for later in (now + 120, now + 120 + 700):
        while members := await store.claim(later, limit=1000):
            await store.roll(members, later)
    return (await aof_bytes(redis) - before) / (len(hosts) * seconds)


async def figures() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp)) as server:
        redis = connect(server.url)
        try:
            memory = await measure(redis)
            aof = {str(i): await aof_rate(redis, i) for i in (1, 5)}
        finally:
            await redis.aclose()
    return {"memory": memory, "aof": aof}


def table(f: dict[str, Any]) -> str:
    mem = f["memory"]
    rows = [
        "| agent interval | memory per host at full retention | AOF writes per host | "
        + " | ".join(f"hosts in {g} GiB" for g in RAM_GIB)
        + " |",
        "|---|---|---|" + "---|" * len(RAM_GIB),
    ]
    for interval in ("1", "5"):
        per_host = mem["by_interval"][interval]["host"]["sealed"]
        counts = [int(g * 2**30 * USABLE // per_host) for g in RAM_GIB]
        aof = f["aof"][interval] / 1024
        cells = [f"{interval} s", f"{per_host / 2**20:.1f} MiB", f"{aof:.1f} KiB/s"]
        rows.append("| " + " | ".join([*cells, *(f"{c:,}" for c in counts)]) + " |")
    return "\n".join(rows)


async def main() -> None:
    f = await figures()
    print(
        f"{f['memory']['series']} series per host (the recorded H100 host); "
        f"{USABLE:.0%} of RAM for Redis; AOF measured over {SIM_HOSTS} hosts x "
        f"{SIM_MINUTES} min of samples\n"
    )
    print(table(f))


if __name__ == "__main__":
    asyncio.run(main())
