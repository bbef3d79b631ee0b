"""Decoding what arrives from the bus so that no payload raises anything but a DecodeError.

msgspec reports malformed JSON and wrong types as `msgspec.DecodeError` (or its subclass
`ValidationError`), but not everything: a 2.4 KB array nested 1,200 levels deep raises
`RecursionError`, invalid UTF-8 inside a string raises `UnicodeDecodeError`. A consumer
that catches only `DecodeError` then crashes, or treats the message as a storage failure
and retries it forever. Every consumer of bus messages decodes through `decode` here, and
reports what it dropped through `Dropped` (counted by the caller, logged at a bounded rate).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol, TypeVar

import msgspec

T = TypeVar("T", covariant=True)

# Long payloads make long messages; a log line quotes at most this much of one.
MAX_REASON = 300


class Undecodable(msgspec.DecodeError):
    """A payload no decoder can read; a `msgspec.DecodeError`, so existing handlers catch it."""


class _Decoder(Protocol[T]):
    def decode(self, buf: bytes | bytearray | memoryview, /) -> T: ...


def decode(decoder: _Decoder[T], data: bytes | bytearray | memoryview) -> T:
    """`decoder.decode(data)`, raising only `msgspec.DecodeError` (or a subclass) on failure."""
    try:
        return decoder.decode(data)
    except msgspec.DecodeError:
        raise
    except RecursionError:
        raise Undecodable("JSON is nested too deeply") from None
    except UnicodeDecodeError as exc:  # msgspec validates UTF-8 only outside strings
        raise Undecodable(f"invalid UTF-8 in a string ({exc.reason})") from None
    except Exception as exc:  # anything else a hostile payload finds: never the consumer's end
        raise Undecodable(f"cannot decode: {type(exc).__name__}: {exc}"[:MAX_REASON]) from None


_any = msgspec.json.Decoder()


def decode_any(data: bytes | bytearray | memoryview) -> Any:
    """Untyped JSON, with the same guarantee as `decode`."""
    return decode(_any, data)


_decoders: dict[object, msgspec.json.Decoder[Any]] = {}


def _decoder_for(kind: type[Any]) -> msgspec.json.Decoder[Any]:
    # A few request and state types in all: built once each.
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    return decoder


def decode_as(data: bytes | bytearray | memoryview, kind: type[Any]) -> Any:
    """`msgspec.json.decode(data, type=kind)` with the same guarantee as `decode`."""
    return decode(_decoder_for(kind), data)


def reason(exc: BaseException) -> str:
    """What is wrong, short enough for a log line."""
    text = str(exc)
    return text if len(text) <= MAX_REASON else text[:MAX_REASON] + "…"


class Dropped:
    """Logs dropped messages at most once per `every` seconds, saying how many were held."""

    def __init__(self, logger: logging.Logger, every: float = 10.0) -> None:
        self.logger = logger
        self.every = every
        self._last = -float("inf")
        self._held = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            self._held += 1
            return
        if self._held:
            message += f" (and {self._held} more since the last report)"
        self._last, self._held = now, 0
        self.logger.warning(message, *args)
