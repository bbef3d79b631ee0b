"""`vitals healthcheck`: the container image's HEALTHCHECK, for whichever service it runs.

The gateway is healthy when its `/healthz` answers 200 (it can reach NATS and Redis). The
other services serve no HTTP; they are healthy while the bus they need accepts a connection
(each reconnects by itself, so this is what an operator wants to see go red).
Exit 0 when healthy, 1 with the reason on stderr otherwise. Standard library only: it runs
every few seconds in every container.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

TIMEOUT_S = 3.0
SERVICES = ("gateway", "alerter", "notifier", "agent")


class Probe(NamedTuple):
    kind: str  # "http" or "tcp"
    target: str  # a URL, or host:port


def which_service(argv: list[str]) -> str:
    """The service a command line runs (`vitals gateway`, `vitals-agent`, `-m vitals_alerter`)."""
    for arg in argv:
        name = Path(arg).name.removeprefix("vitals-").removeprefix("vitals_")
        if name in SERVICES:
            return name
    return ""


def probe_for(service: str, env: dict[str, str]) -> Probe:
    if service == "gateway":
        host = env.get("VITALS_HTTP_HOST", "127.0.0.1")
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # a wildcard bind: ask locally
        host = "[::1]" if host == "::" else host
        return Probe("http", f"http://{host}:{env.get('VITALS_HTTP_PORT', '8000')}/healthz")
    url = env.get("VITALS_NATS_URL", "nats://127.0.0.1:4222").split(",")[0].strip()
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    return Probe("tcp", f"{parts.hostname or '127.0.0.1'}:{parts.port or 4222}")


def check(probe: Probe) -> str:
    """ "" when healthy, else why not."""
    if probe.kind == "http":
        try:
            # Always the http:// URL built by probe_for.
            with urllib.request.urlopen(probe.target, timeout=TIMEOUT_S) as response:  # noqa: S310
                return "" if response.status == 200 else f"{probe.target}: {response.status}"
        except urllib.error.HTTPError as exc:
            return f"{probe.target}: {exc.code} {exc.read(200).decode(errors='replace')}"
        except OSError as exc:
            return f"{probe.target}: {exc}"
    host, _, port = probe.target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT_S):
            return ""
    except OSError as exc:
        return f"NATS at {probe.target}: {exc}"


def healthcheck(service: str = "") -> int:
    if not service:
        try:
            argv = Path("/proc/1/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            argv = []
        service = which_service(argv) or "gateway"
    reason = check(probe_for(service, dict(os.environ)))
    if reason:
        print(f"vitals healthcheck ({service}): {reason}", file=sys.stderr)
        return 1
    return 0
