"""What the telemetry stream really stores per sample, compressed and not, on a real server."""

from __future__ import annotations

from pathlib import Path

import msgspec
import nats

from tests.fleetsamples import H100Host
from vitals_core import bus, streams, subjects
from vitals_core.settings import NatsSettings
from vitals_servers import NatsServer

HOSTS, SECONDS = 10, 200


def sealed_blocks(store: Path, stream: str) -> list[int]:
    """Sizes on disk of the stream's full blocks, oldest first. The block still being written
    is left out: compression applies to a block once it is full."""
    blocks = [p for p in store.rglob("*.blk") if f"/streams/{stream}/" in p.as_posix()]
    blocks.sort(key=lambda p: int(p.stem))
    return [p.stat().st_size for p in blocks[:-1]]


async def stored(tmp_path: Path, compression: str) -> tuple[float, list[int]]:
    """Stored bytes per sample of HOSTS recorded-H100 hosts at 1 s, and the full blocks."""
    with NatsServer(tmp_path / compression) as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await bus.ensure_streams(js, NatsSettings(compression=compression))
        hosts = [H100Host(f"gpu-worker-{i:04d}") for i in range(HOSTS)]
        for second in range(SECONDS):
            acks = [
                js.publish(
                    subjects.metrics(h.host),
                    msgspec.json.encode(h.next(1_800_000_000.0 + second)),
                    headers={"Nats-Msg-Id": f"{h.host}.run.{h.seq}"},
                )
                for h in hosts
            ]
            for ack in acks:
                await ack
        info = await js.stream_info(subjects.STREAM_TELEMETRY)
        assert info.state.messages == HOSTS * SECONDS
        await nc.close()
    blocks = sealed_blocks(tmp_path / compression, subjects.STREAM_TELEMETRY)
    return info.state.bytes / (HOSTS * SECONDS), blocks


async def test_s2_stores_a_sample_in_a_fraction_of_the_disk(tmp_path: Path) -> None:
    plain_stored, plain_blocks = await stored(tmp_path, "none")
    s2_stored, s2_blocks = await stored(tmp_path, "s2")
    # The cap is counted in stored bytes, which compression does not change: it is sized on
    # them, with the constant measured here.
    assert plain_stored <= streams.STORED_BYTES_PER_SAMPLE
    assert s2_stored == plain_stored
    # The same messages fill the same full blocks; S2 keeps them in well under half the disk
    # (about a fifth, measured by make bench-failover).
    assert len(s2_blocks) == len(plain_blocks) >= 1
    assert sum(s2_blocks) < sum(plain_blocks) / 2
