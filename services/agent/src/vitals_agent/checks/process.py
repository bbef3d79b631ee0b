"""Process alive: by name (at least one process of that name) or by pidfile."""

from __future__ import annotations

import asyncio
import os

import psutil

from vitals_agent.checks.outcome import Outcome
from vitals_core.settings import CheckSettings


async def check(c: CheckSettings) -> Outcome:
    if c.pidfile:
        return await asyncio.to_thread(by_pidfile, c.pidfile)
    return await asyncio.to_thread(by_name, c.target)


def by_pidfile(path: str) -> Outcome:
    try:
        with open(path) as f:
            text = f.read(64).strip()
    except OSError as exc:
        return Outcome(False, f"cannot read pidfile {path}: {exc.strerror}")
    if not text.isdigit():
        return Outcome(False, f"pidfile {path} does not hold a pid")
    pid = int(text)
    try:
        status = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return Outcome(False, f"process {pid} from {path} is not running")
    if status == psutil.STATUS_ZOMBIE:
        return Outcome(False, f"process {pid} from {path} has exited (zombie)")
    return Outcome(True)


def by_name(name: str) -> Outcome:
    for p in psutil.process_iter(["name", "exe", "status"]):
        info = p.info
        if info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if info["name"] == name or (info["exe"] and os.path.basename(info["exe"]) == name):
            return Outcome(True)
    return Outcome(False, f"no process named {name!r}")
