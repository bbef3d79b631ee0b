"""Reads of a KV bucket that are as new as the stream leader, on a cluster too.

On a NATS cluster a bucket's stream has replicas, and two ways of reading can be answered
by a replica that is behind the leader (one restarted a moment ago and still catching up):
a direct get (`allow_direct`, any replica answers) and a watch (its ordered consumer may
be placed on any replica). A service taking over a partition must not act on such a read:
an alerter that reads its new hosts' alert states from a stale replica finds none, and
never resolves what the previous owner fired; a lease keeper that reads an old lease
believes a partition taken that is free.

- `Bucket`: a bucket with direct gets off, so every `get` is answered by the stream
  leader (`$JS.API.STREAM.MSG.GET`); `reconcile.ensure_bucket` hands these out.
- `snapshot`: every key's newest entry, read with a watch, checked against the stream's
  last sequence as the leader gives it, and read again (a fresh consumer, possibly on
  another replica) until the read has caught up with it.
"""

from __future__ import annotations

import asyncio
import contextlib

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

ATTEMPTS = 10
PAUSE_S = 0.2
ENTRY_TIMEOUT_S = 5.0


class StaleRead(nats.errors.Error):
    """No replica that answered had caught up with the leader; the caller tries later."""


class Bucket(KeyValue):
    """A KV bucket whose gets are answered by its stream leader."""

    def __init__(self, js: JetStreamContext, bucket: str) -> None:
        self.js = js
        self.bucket = bucket
        self.stream = f"KV_{bucket}"
        super().__init__(name=bucket, stream=self.stream, pre=f"$KV.{bucket}.", js=js, direct=False)


def is_delete(entry: KeyValue.Entry) -> bool:
    return entry.operation in ("DEL", "PURGE")


async def snapshot(kv: Bucket, attempts: int = ATTEMPTS) -> dict[str, KeyValue.Entry]:
    """Key -> its newest entry (delete markers included), at least as new as the stream
    leader was when the read began; `StaleRead` when no read got there."""
    newest = last = 0
    for attempt in range(attempts):
        state = (await kv.js.stream_info(kv.stream)).state  # answered by the stream leader
        last = state.last_seq
        entries = await _read(kv)
        newest = max((int(e.revision or 0) for e in entries.values()), default=0)
        if state.messages == 0 or newest >= last:
            return entries
        # Behind, or the leader's last message is gone since (expired, purged): which?
        if not await _exists(kv, last):
            return entries
        if attempt + 1 < attempts:
            await asyncio.sleep(PAUSE_S)
    raise StaleRead(
        f"bucket {kv.bucket}: every read stopped at revision {newest}, "
        f"behind the stream leader's {last}"
    )


async def _read(kv: KeyValue) -> dict[str, KeyValue.Entry]:
    entries: dict[str, KeyValue.Entry] = {}
    watcher = await kv.watchall()
    try:
        while True:
            entry = await watcher.updates(timeout=ENTRY_TIMEOUT_S)  # type: ignore[no-untyped-call]
            if entry is None:
                return entries
            entries[entry.key] = entry
    finally:
        with contextlib.suppress(Exception):
            await watcher.stop()  # type: ignore[no-untyped-call]


async def _exists(kv: Bucket, seq: int) -> bool:
    try:
        await kv.js.get_msg(kv.stream, seq=seq, direct=False)
    except NotFoundError:
        return False
    return True
