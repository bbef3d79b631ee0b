"""OpenSSL is loaded only by an agent whose configuration uses TLS.

Importing `ssl` maps OpenSSL and initialises it: about 6 MB of resident memory, a quarter
of what the agent uses in all. asyncio imports `ssl` whenever it can, used or not. So before
anything imports asyncio, an agent with no TLS in its configuration marks `ssl` as absent
(a `None` entry in `sys.modules`, Python's documented way to block an import); asyncio,
urllib and the checks then behave as on a Python built without ssl. With a `tls://` NATS
URL or any `nats.tls_*` file, an `https://` check, a `rediss://` or PostgreSQL check, or
any Prometheus scrape (its library imports `ssl` itself), `ssl` loads as usual.
"""

from __future__ import annotations

import sys

from vitals_core.settings import Settings


def needed(settings: Settings) -> bool:
    """Whether anything configured may use TLS."""
    if any(url.strip().startswith("tls://") for url in settings.nats.url.split(",")):
        return True
    n = settings.nats
    if n.tls_ca_file or n.tls_cert_file or n.tls_key_file:
        return True
    a = settings.agent
    for check in a.checks:
        target = check.target.strip()
        if check.kind == "http" and target.startswith("https://"):
            return True
        if check.kind == "redis" and target.startswith("rediss://"):
            return True
        if check.kind == "sql" and target.startswith(("postgres://", "postgresql://")):
            return True  # the driver negotiates TLS with the server
    # The Prometheus parser's package imports ssl for its own HTTP server, so any scrape.
    return bool(a.scrape)


def leave_out() -> bool:
    """Block `ssl` unless something already loaded it; True when it is now left out."""
    if "ssl" in sys.modules:
        return sys.modules["ssl"] is None
    sys.modules["ssl"] = None  # type: ignore[assignment]
    return True
