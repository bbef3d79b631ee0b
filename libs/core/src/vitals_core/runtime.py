"""Start, stop and exit the same way in every service.

`run_service(name, main)` loads the settings (a bad config exits 2 with the reason), sets up
logging, runs `main(settings, stop)` until it returns or SIGINT/SIGTERM sets `stop`, and
exits 0 on a clean stop, 1 when `main` failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable

from vitals_core import envcheck
from vitals_core.config import ConfigError, load_settings
from vitals_core.quietlog import RepeatFilter
from vitals_core.settings import Settings

ServiceMain = Callable[[Settings, asyncio.Event], Awaitable[None]]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
# Once asked to stop, how long a service may take to finish before it is cancelled.
STOP_GRACE_S = 15.0


class Stopped(Exception):
    """The service was asked to stop before the bus could be reached."""


def setup_logging(service: str, level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
    )
    # A server that is down makes every retry loop fail each second: say so, not each time.
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter stays at warning unless asked for.
    for noisy in ("uvicorn.access", "nats", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def run_service(name: str, main: ServiceMain, settings: Settings | None = None) -> int:
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            print(f"vitals {name}: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    setup_logging(name, settings.log_level)
    envcheck.warn_unknown(os.environ, logging.getLogger(f"vitals.{name}"))
    try:
        return asyncio.run(_run(name, main, settings))
    except KeyboardInterrupt:
        return EXIT_OK


async def _until_stopped(work: Awaitable[None], stop: asyncio.Event, log: logging.Logger) -> None:
    """Run `work`; once `stop` is set, give it `STOP_GRACE_S` to finish, then cancel it.

    A service stopped while the bus is away may wait on a request nobody can answer (at
    start, say); it must still exit, and what it had not acknowledged is replayed later.
    """
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_S)
        if not done:
            log.warning(
                "not stopped within %.0fs (the bus does not answer?): cancelled", STOP_GRACE_S
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
    await task


async def _run(name: str, main: ServiceMain, settings: Settings) -> int:
    log = logging.getLogger(f"vitals.{name}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await _until_stopped(main(settings, stop), stop, log)
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    except Stopped:
        pass
    except Exception:
        log.exception("%s stopped on an error", name)
        return EXIT_FAILED
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("%s stopped", name)
    return EXIT_OK
