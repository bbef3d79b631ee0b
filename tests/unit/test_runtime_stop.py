"""A service asked to stop finishes what it is doing, or is cancelled after a grace period."""

from __future__ import annotations

import asyncio
import logging

import pytest

from vitals_core import runtime


async def test_work_that_stops_on_time_finishes_normally() -> None:
    stop = asyncio.Event()
    finished: list[str] = []

    async def work() -> None:
        await stop.wait()
        finished.append("saved")

    stop.set()
    await runtime._until_stopped(work(), stop, logging.getLogger("test"))
    assert finished == ["saved"]


async def test_work_stuck_after_stop_is_cancelled_after_the_grace(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime, "STOP_GRACE_S", 0.05)
    stop = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()  # a request nobody answers
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    asyncio.get_running_loop().call_later(0.01, stop.set)
    await runtime._until_stopped(stuck(), stop, logging.getLogger("test"))
    assert cancelled == [True]
    assert "not stopped within" in caplog.text


async def test_an_error_before_any_stop_is_raised() -> None:
    async def broken() -> None:
        raise RuntimeError("bad")

    with pytest.raises(RuntimeError, match="bad"):
        await runtime._until_stopped(broken(), asyncio.Event(), logging.getLogger("test"))
