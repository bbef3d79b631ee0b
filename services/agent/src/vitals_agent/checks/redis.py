"""Redis (or Valkey): PING answers PONG, after AUTH when the URL carries a password."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import unquote, urlsplit

from vitals_agent.checks.outcome import Outcome
from vitals_core.settings import CheckSettings


def command(*parts: str) -> bytes:
    """One command in RESP, the protocol Redis speaks."""
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def parse_target(target: str) -> tuple[str, int, bool, str, str]:
    """host, port, tls, user, password from `redis[s]://[user:pass@]host[:port][/db]` or
    `host:port`."""
    if "://" not in target:
        target = f"redis://{target}"
    url = urlsplit(target)
    if url.scheme not in ("redis", "rediss") or not url.hostname:
        raise ValueError("the target is not a redis:// URL or host:port")
    return (
        url.hostname,
        url.port or 6379,
        url.scheme == "rediss",
        unquote(url.username or ""),
        unquote(url.password or ""),
    )


async def check(c: CheckSettings) -> Outcome:
    host, port, tls, user, password = parse_target(c.target)
    context = None
    if tls:
        import ssl  # only rediss:// targets need it (vitals_agent/tls.py)

        context = ssl.create_default_context()
    reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        if password:
            writer.write(command("AUTH", user, password) if user else command("AUTH", password))
            answer = await reader.readline()
            if not answer.startswith(b"+OK"):
                return Outcome(False, f"AUTH refused: {_text(answer)}")
        writer.write(command("PING"))
        answer = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if answer.startswith(b"+PONG"):
        return Outcome(True)
    return Outcome(False, f"PING answered {_text(answer) or 'nothing'}")


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace").strip()[:200]
