"""Generated hostile bus payloads for the fuzz tests (no tests here).

Deterministic: the same list every run (a seeded generator for the random bytes), so a
failure names the payload that caused it and reruns the same way.
"""

from __future__ import annotations

import json
import random

DEPTH = 1_200  # the 2.4 KB array of the report; msgspec gives up near 1,000 levels


def nested_array(kind: str, depth: int = DEPTH) -> bytes:
    return b'{"kind":"' + kind.encode() + b'","x":' + b"[" * depth + b"]" * depth + b"}"


def nested_object(kind: str, depth: int = DEPTH) -> bytes:
    return b'{"kind":"' + kind.encode() + b'","x":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"


def _valid_shape(kind: str, host: str) -> dict[str, object]:
    """A body with the right fields for `kind`, to be spoiled one field at a time."""
    base: dict[str, object] = {"kind": kind, "v": 1, "ts": 1.0, "host": host}
    if kind == "metrics":
        base |= {"seq": 1, "interval": 1.0, "cpu": {"percent": 1.0},
                 "memory": {"total": 1, "used": 1, "available": 0, "percent": 1.0}}  # fmt: skip
    elif kind == "app":
        base |= {"app": "api", "window": 1.0}
    elif kind == "health":
        base |= {"check": "web", "check_kind": "http", "ok": True}
    elif kind == "alert":
        base |= {"id": "x", "alert_id": "x", "event": "firing", "rule": "r", "severity": "info"}
    return base


def payloads(kind: str, host: str) -> list[bytes]:
    """Hostile bodies for a subject that carries `kind` events of `host`."""
    rng = random.Random(17)
    shape = _valid_shape(kind, host)
    text = json.dumps(shape)
    out: list[bytes] = [
        b"",
        b"null",
        b"[]",
        b"{}",
        b'"just a string"',
        b"{",
        text[: len(text) // 2].encode(),  # truncated
        nested_array(kind),
        nested_object(kind),
        nested_array(kind, 20_000),
        b"[" * 50_000,  # unterminated and deep
        b'{"kind":"' + kind.encode() + b'","ts":1e400}',
        b'{"kind":"' + kind.encode() + b'","ts":' + b"9" * 400 + b"}",
        b'{"kind":"' + kind.encode() + b'","ts":-' + b"9" * 400 + b"}",
        b'{"kind":"' + kind.encode() + b'","ts":NaN}',
        b'{"kind":"' + kind.encode() + b'","ts":Infinity}',
        b'{"kind":"' + kind.encode() + b'","host":"' + b"h" * 200_000 + b'"}',
        b'{"kind":"' + kind.encode() + b'","host":"\xff\xfe"}',  # invalid UTF-8 in a string
        b"\xff\xfe\xfd" + text.encode(),  # invalid UTF-8 up front
        text.encode().replace(b'"ts"', b'"\xc3\x28"'),  # invalid UTF-8 in a key
        b'{"kind":"nonsense","ts":1}',
        b'{"kind":7,"ts":1}',
        b'{"ts":1,"host":"' + host.encode() + b'"}',  # no tag
        # Duplicate keys: the second tag or value differs from the first.
        text.encode()[:-1] + b',"kind":"alert"}',
        text.encode()[:-1] + b',"host":"someone-else"}',
        text.encode()[:-1] + b',"ts":"yesterday"}',
        bytes(rng.getrandbits(8) for _ in range(4096)),
        b"\x00" * 64,
    ]
    # Each field of the valid body with a value of the wrong type.
    for key in shape:
        if key == "kind":
            continue
        bads: list[object] = [[], {}, "x" * 3, -1, None, True, 1e308]
        for bad in bads:
            spoiled = dict(shape)
            spoiled[key] = bad
            out.append(json.dumps(spoiled).encode())
    return out
