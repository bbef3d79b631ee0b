"""A command's exit code: 0 is healthy. Run without a shell (`sh -c '...'` if you need one)."""

from __future__ import annotations

import asyncio
import contextlib
import shlex

from vitals_agent.checks.outcome import Outcome
from vitals_core.settings import CheckSettings

KEEP_OUTPUT = 2048


async def check(c: CheckSettings) -> Outcome:
    argv = shlex.split(c.target)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        tail = await _tail(proc.stdout)
        code = await proc.wait()
    finally:
        if proc.returncode is None:  # timed out: the check is cancelled
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if code == 0:
        return Outcome(True)
    lines = tail.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1].strip() if lines else ""
    return Outcome(False, f"exit code {code}" + (f": {last}" if last else ""))


async def _tail(stream: asyncio.StreamReader) -> bytes:
    """Read everything (so the command never blocks on a full pipe), keep the end."""
    kept = b""
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-KEEP_OUTPUT:]
    return kept
