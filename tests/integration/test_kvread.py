"""Reads of a KV bucket that must be as new as the stream leader (vitals_core.kvread)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from vitals_core import kvread
from vitals_core.kvread import Bucket, StaleRead


@pytest.fixture
async def bucket(nats_url: str) -> AsyncIterator[Bucket]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.create_key_value(KeyValueConfig(bucket="test_kvread", history=1))
    yield Bucket(js, "test_kvread")
    await nc.close()


async def test_a_snapshot_holds_every_key_and_delete_marker(bucket: Bucket) -> None:
    await bucket.put("a", b"1")
    await bucket.put("b", b"2")
    await bucket.delete("b")
    got = await kvread.snapshot(bucket)
    assert got["a"].value == b"1"
    assert kvread.is_delete(got["b"])
    assert not kvread.is_delete(got["a"])


async def test_an_empty_bucket_and_a_purged_last_message_read_as_they_are(bucket: Bucket) -> None:
    assert await kvread.snapshot(bucket) == {}
    await bucket.put("a", b"1")
    await bucket.delete("b")  # the stream's last message: a delete marker, then purged
    await bucket.purge_deletes(olderthan=-1)
    got = await kvread.snapshot(bucket)
    assert {k: e.value for k, e in got.items()} == {"a": b"1"}


async def test_a_read_behind_the_leader_is_read_again_and_never_returned(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica behind the leader answers as if the newest writes had not happened."""
    await bucket.put("a", b"old")
    behind = await kvread.snapshot(bucket)
    await bucket.put("a", b"new")
    real = kvread._read
    answers = [behind, behind]  # two stale reads, then the replica has caught up

    async def lagging(kv: KeyValue) -> dict[str, KeyValue.Entry]:
        return answers.pop(0) if answers else await real(kv)

    monkeypatch.setattr(kvread, "_read", lagging)
    got = await kvread.snapshot(bucket)
    assert got["a"].value == b"new"

    answers[:] = [behind] * 3
    with pytest.raises(StaleRead, match="behind the stream leader"):
        await kvread.snapshot(bucket, attempts=3)
