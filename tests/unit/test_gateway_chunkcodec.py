"""Sealed chunks: byte-for-byte round trips, smaller where the data repeat, clear errors."""

from __future__ import annotations

import random

import pytest

from vitals_gateway.storage import chunkcodec, windows
from vitals_gateway.storage.windows import MINUTE, Agg


def rollup_chunk(values: list[float | None]) -> bytes:
    return b"".join(
        windows.pack_agg(Agg(60, v - 1, v + 1, v, v + 0.5)) if v is not None else bytes(20)
        for v in values
    )


random.seed(7)
CASES = {
    "empty": rollup_chunk([None] * MINUTE.slots),
    "constant": rollup_chunk([42.0] * MINUTE.slots),
    "gaps": rollup_chunk([float(i) if i % 7 else None for i in range(MINUTE.slots)]),
    "noise": rollup_chunk([random.uniform(0, 100) for _ in range(MINUTE.slots)]),
    "extremes": windows.pack_floats([float("nan"), float("inf"), -0.0, 1e-45, -3e38] * 4),
    "one slot": rollup_chunk([1.0]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_sealed_chunk_unseals_to_the_same_bytes(name: str) -> None:
    plain = CASES[name]
    sealed = chunkcodec.seal(plain, 20)
    assert chunkcodec.is_sealed(sealed)
    assert not chunkcodec.is_sealed(plain)
    assert chunkcodec.unseal(sealed) == plain


def test_repeating_data_seal_small() -> None:
    assert len(chunkcodec.seal(CASES["constant"], 20)) < len(CASES["constant"]) / 20
    assert len(chunkcodec.seal(CASES["empty"], 20)) < 100


@pytest.mark.parametrize(
    ("blob", "says"),
    [
        (b"plain bytes", "not a sealed chunk"),
        (chunkcodec.MAGIC, "not a sealed chunk"),
        (chunkcodec.MAGIC + b"\x14garbage", "does not decompress"),
    ],
)
def test_bad_blobs_say_what_is_wrong(blob: bytes, says: str) -> None:
    with pytest.raises(chunkcodec.CodecError, match=says):
        chunkcodec.unseal(blob)


def test_a_chunk_of_partial_slots_is_refused() -> None:
    with pytest.raises(chunkcodec.CodecError, match="20-byte slots"):
        chunkcodec.seal(b"x" * 30, 20)
