"""Sealed chunks, stored compressed and read back byte for byte (pure).

A chunk whose slots can no longer change is rewritten as `MAGIC` + zlib of its
bytes transposed into byte planes (every slot's byte 0, then every slot's byte 1, ...),
each plane XOR-ed with itself shifted by one slot. Neighbouring buckets of a series share
their sign, exponent and high mantissa bits, so those planes turn into runs of zeros, as in
Gorilla's XOR encoding; what is left is the noise in the low mantissa bits. Lossless: a
query answers the same points from a sealed chunk as from a plain one.

Plain chunks never start with `MAGIC` (below).
"""

from __future__ import annotations

import zlib

# As a float32 (little-endian) a NaN with a payload: no sample (JSON has no NaN, and an
# empty raw slot is the plain NaN) and no rollup count can be it.
MAGIC = b"Z1\xc1\xff"
LEVEL = 6


class CodecError(ValueError):
    """Bytes that are not a chunk this codec wrote."""


def is_sealed(blob: bytes) -> bool:
    return blob[: len(MAGIC)] == MAGIC


def _xor_delta(plane: bytes) -> bytes:
    x = int.from_bytes(plane, "big")
    return (x ^ (x >> 8)).to_bytes(len(plane), "big")


def _xor_undelta(plane: bytes) -> bytes:
    # Prefix XOR over bytes, by doubling: log2(n) big-integer steps instead of n.
    x = int.from_bytes(plane, "big")
    shift = 8
    while shift < len(plane) * 8:
        x ^= x >> shift
        shift *= 2
    return x.to_bytes(len(plane), "big")


def seal(plain: bytes, width: int) -> bytes:
    """A plain chunk of `width`-byte slots -> its sealed form."""
    if len(plain) % width:
        raise CodecError(f"a chunk of {len(plain)} bytes is not made of {width}-byte slots")
    planes = b"".join(_xor_delta(plain[p::width]) for p in range(width))
    return MAGIC + bytes([width]) + zlib.compress(planes, LEVEL)


def unseal(blob: bytes) -> bytes:
    """A sealed chunk -> the plain bytes it was made from."""
    if not is_sealed(blob) or len(blob) <= len(MAGIC) + 1:
        raise CodecError("not a sealed chunk")
    width = blob[len(MAGIC)]
    try:
        planes = zlib.decompress(blob[len(MAGIC) + 1 :])
    except zlib.error as exc:
        raise CodecError(f"a sealed chunk does not decompress: {exc}") from None
    if not width or len(planes) % width:
        raise CodecError("a sealed chunk has a bad slot width")
    n = len(planes) // width
    out = bytearray(len(planes))
    for p in range(width):
        out[p::width] = _xor_undelta(planes[p * n : (p + 1) * n])
    return bytes(out)
