"""The analytics' `WindowStore` over the gateway's Redis: the window store's and the alert
store's own reads, decoded into the events and `(ts, value)` points the analytics take."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import msgspec

from vitals_core.events import AlertEvent, CheckResult, MetricSample
from vitals_gateway.analytics.api import HostHead, PointList, Read
from vitals_gateway.ingest.alertstore import AlertStore
from vitals_gateway.storage.store import HostHead as StoredHead
from vitals_gateway.storage.store import Read as StoreRead
from vitals_gateway.storage.store import Window
from vitals_gateway.storage.store import WindowStore as Windows

log = logging.getLogger("vitals.gateway.analytics")

_sample = msgspec.json.Decoder(MetricSample)
_check = msgspec.json.Decoder(CheckResult)


class RedisAnalyticsStore:
    def __init__(
        self, windows: Windows, alerts: AlertStore, clock: Callable[[], float] = time.time
    ) -> None:
        self.windows = windows
        self.alerts = alerts
        self.clock = clock

    async def hosts(self) -> list[str]:
        return list(await self.windows.hosts())

    async def heads(self, hosts: Sequence[str]) -> list[HostHead | None]:
        return [_head(h) for h in await self.windows.heads(hosts)]

    async def points(self, host: str, reads: Sequence[Read]) -> list[dict[str, PointList]]:
        batch = [StoreRead(r.names, r.start, r.end) for r in reads]
        found = await self.windows.query_batch(host, batch, self.clock())
        return [{name: _points(w) for name, w in windows.items()} for windows in found]

    async def active_alerts(self) -> list[AlertEvent]:
        return await self.alerts.active()


def _points(window: Window) -> PointList:
    """The mean of each slot (a raw slot is one sample) at its bucket's start (whole s)."""
    p = window.points
    return list(zip(p.t, p.mean, strict=True))


def _head(stored: StoredHead) -> HostHead | None:
    if stored.last_seen is None:
        return None
    sample = None
    if stored.latest is not None:
        try:
            sample = _sample.decode(stored.latest)
        except msgspec.DecodeError as exc:
            # Ingest checked it; a document from another version is scored as missing.
            log.warning("a stored metrics sample does not decode: %s", exc)
    checks = []
    for name, doc in stored.checks.items():
        try:
            checks.append(_check.decode(doc))
        except msgspec.DecodeError as exc:
            log.warning("stored check %r does not decode: %s", name, exc)
    return HostHead(sample=sample, names=stored.names, checks=checks)
