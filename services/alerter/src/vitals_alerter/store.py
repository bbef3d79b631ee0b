"""Durable state in JetStream KV: alert states, silences, acknowledgements not yet applied."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TypeVar

import msgspec
import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from vitals_alerter.alerts import AlertState
from vitals_alerter.silences import Silence
from vitals_core import kvread, reconcile, safedecode, subjects
from vitals_core.kvread import Bucket

log = logging.getLogger("vitals.alerter.store")

# Concurrent KV writes in flight at once.
WRITE_CONCURRENCY = 256
T = TypeVar("T")


class AckRequest(msgspec.Struct, kw_only=True):
    """An acknowledgement taken by any replica, applied by the one that owns the host."""

    alert_id: str
    host: str
    episode: float
    by: str
    at: float
    comment: str = ""


async def _bucket(
    js: JetStreamContext, name: str, history: int, max_bytes: int, replicas: int
) -> Bucket:
    config = KeyValueConfig(
        bucket=name,
        history=history,
        max_bytes=max_bytes,
        storage=StorageType.FILE,
        replicas=replicas,
    )
    return await reconcile.ensure_bucket(js, config)


class Position(msgspec.Struct):
    """A partition's telemetry evaluated, published and saved up to this stream sequence."""

    seq: int


class Store:
    def __init__(
        self,
        js: JetStreamContext,
        states: Bucket,
        silences: Bucket,
        acks: Bucket,
        positions: Bucket,
    ):
        self.js = js
        self.states = states
        self.silences = silences
        self.acks = acks
        self.positions = positions

    @classmethod
    async def open(cls, js: JetStreamContext, replicas: int = 1) -> Store:
        """The alerter owns these buckets: it creates them, or reconciles them to `replicas`."""
        return cls(
            js,
            await _bucket(js, subjects.KV_ALERT_STATES, 1, 512 * 1024**2, replicas),
            await _bucket(js, subjects.KV_SILENCES, 5, 64 * 1024**2, replicas),
            await _bucket(js, subjects.KV_ACKS, 1, 16 * 1024**2, replicas),
            await _bucket(js, subjects.KV_ALERTER_POSITIONS, 1, 1024**2, replicas),
        )

    # --- positions in the telemetry stream ----------------------------------------------------

    async def load_positions(self, partitions: Iterable[int]) -> dict[int, int]:
        """The saved position of each partition that has one."""
        out = {}
        for p in partitions:
            position = await _get(self.positions, f"p{p}", Position)
            if position is not None:
                out[p] = position.seq
        return out

    async def save_positions(self, positions: dict[int, int]) -> None:
        encode = msgspec.json.encode
        await asyncio.gather(
            *(self.positions.put(f"p{p}", encode(Position(seq))) for p, seq in positions.items())
        )

    # --- alert states -------------------------------------------------------------------------

    async def load_states(self, owns: Callable[[str], bool]) -> list[AlertState]:
        out = []
        async for state in _values(self.states, AlertState):
            if owns(state.host):
                out.append(state)
        return out

    async def state(self, alert_id: str) -> AlertState | None:
        return await _get(self.states, alert_id, AlertState)

    async def save(self, puts: Sequence[AlertState], deletes: Sequence[str]) -> None:
        encode = msgspec.json.encode
        writes = [self.states.put(s.alert_id, encode(s)) for s in puts]
        writes += [self.states.delete(alert_id) for alert_id in deletes]
        for start in range(0, len(writes), WRITE_CONCURRENCY):
            await asyncio.gather(*writes[start : start + WRITE_CONCURRENCY])

    # --- silences -----------------------------------------------------------------------------

    async def put_silence(self, silence: Silence) -> None:
        await self.silences.put(silence.id, msgspec.json.encode(silence))

    async def silence(self, silence_id: str) -> Silence | None:
        return await _get(self.silences, silence_id, Silence)

    async def all_silences(self) -> list[Silence]:
        return [s async for s in _values(self.silences, Silence)]

    async def purge_silence(self, silence_id: str) -> None:
        await self.silences.purge(silence_id)

    # --- acknowledgements ---------------------------------------------------------------------

    async def request_ack(self, request: AckRequest) -> None:
        await self.acks.put(request.alert_id, msgspec.json.encode(request))

    async def ack_requests(self) -> list[AckRequest]:
        return [r async for r in _values(self.acks, AckRequest)]

    async def done_ack(self, alert_id: str) -> None:
        with contextlib.suppress(KeyNotFoundError):
            await self.acks.delete(alert_id)

    async def tidy(self) -> None:
        """Drop the delete markers of resolved alerts and applied acks."""
        for kv in (self.states, self.acks):
            await kv.purge_deletes(olderthan=30 * 60)


async def _get(kv: KeyValue, key: str, kind: type[T]) -> T | None:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None
    if entry.value is None:
        return None
    return _decode(key, entry.value, kind)


def _decode(key: str, data: bytes, kind: type[T]) -> T | None:
    try:
        value: T = safedecode.decode_as(data, kind)
        return value
    except msgspec.DecodeError as exc:
        log.warning("ignored an unreadable %s entry %s: %s", kind.__name__, key, exc)
        return None


async def _values(kv: Bucket, kind: type[T]) -> AsyncIterator[T]:
    """Every current value of a bucket (deleted keys skipped), as new as its stream leader:
    what a replica taking partitions over reads must include all the last owner saved."""
    for key, entry in (await kvread.snapshot(kv)).items():
        if entry.value and not kvread.is_delete(entry):
            value = _decode(key, entry.value, kind)
            if value is not None:
                yield value


async def watch(kv: KeyValue, on_entry: Callable[[str, bytes | None], object]) -> None:
    """Call `on_entry(key, value or None for a delete)` for every change, for ever."""
    watcher = await kv.watchall()
    try:
        while True:
            try:
                entry = await watcher.updates(timeout=60.0)  # type: ignore[no-untyped-call]
            except nats.errors.TimeoutError:  # nothing changed for a while
                continue
            if entry is None:
                continue
            deleted = entry.operation in ("DEL", "PURGE")
            result = on_entry(entry.key, None if deleted else entry.value)
            if asyncio.iscoroutine(result):
                await result
    finally:
        with contextlib.suppress(Exception):
            await watcher.stop()  # type: ignore[no-untyped-call]
