"""SQL: `SELECT 1` on a SQLite file or a PostgreSQL DSN (with asyncpg, the `postgres` extra)."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
from pathlib import Path
from urllib.parse import quote

from vitals_agent.checks.outcome import Outcome
from vitals_core.settings import CheckSettings

POSTGRES = ("postgresql://", "postgres://")


def sqlite_path(target: str) -> str:
    """`sqlite:///abs/path` (or `sqlite:////abs/path`), `sqlite:relative/path`, or a path."""
    for prefix in ("sqlite://", "sqlite:"):
        if target.startswith(prefix):
            rest = target[len(prefix) :]
            return "/" + rest.lstrip("/") if rest.startswith("/") else rest
    return target


async def check(c: CheckSettings) -> Outcome:
    if c.target.startswith(POSTGRES):
        return await postgres(c.target, c.timeout)
    return await asyncio.to_thread(sqlite, sqlite_path(c.target), c.timeout)


def sqlite(path: str, timeout: float) -> Outcome:
    if not Path(path).is_file():
        return Outcome(False, f"no database file at {path}")
    # Read-only: a check must never create or change the database.
    uri = f"file:{quote(path)}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=timeout)
        try:
            # SELECT 1 alone never reads the file; counting the schema does.
            row = db.execute("SELECT 1 WHERE (SELECT count(*) FROM sqlite_master) >= 0").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        return Outcome(False, f"SQLite: {exc}")
    return Outcome(row == (1,), "" if row == (1,) else f"SELECT 1 returned {row!r}")


async def postgres(dsn: str, seconds: float) -> Outcome:
    try:
        asyncpg = importlib.import_module("asyncpg")
    except ImportError:
        return Outcome(False, "PostgreSQL checks need asyncpg: install vitals-agent[postgres]")
    conn = await asyncpg.connect(dsn, timeout=seconds)
    try:
        value = await conn.fetchval("SELECT 1")
    finally:
        await conn.close(timeout=seconds)
    return Outcome(value == 1, "" if value == 1 else f"SELECT 1 returned {value!r}")
