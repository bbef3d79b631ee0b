"""The gateway's own counters, gauges and request latencies, shown on `/metrics`."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

# Request latency buckets (seconds), Prometheus' `le` bounds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

HELP = {
    "events_ingested": "Telemetry events stored in the windows.",
    "events_invalid": "Messages rejected as malformed or on the wrong subject.",
    "events_dropped": "Events or points not stored (too old, over a host's series cap).",
    "store_errors": "Batches the window store failed to write (redelivered later).",
    "alert_events": "Alert events materialised.",
    "annotations": "Annotations recorded.",
    "rollups": "Rollup slots computed.",
    "logins_failed": "Failed logins.",
    "logins_limited": "Logins refused by the rate limit.",
    "requests_limited": "API requests refused by the per-token rate limit.",
    "ws_sent": "Websocket messages sent.",
    "ws_coalesced": "Websocket messages replaced by a newer value before being sent.",
    "ws_dropped": "Websocket clients disconnected for being too slow.",
    "ws_invalid": "Malformed bus messages not streamed to websocket clients.",
    "control_unavailable": "Requests to the alerter or notifier that got no answer.",
    "analytics_bad_requests": "Analytics requests for an unknown host or metric.",
    "analytics_store_errors": "Analytics requests the window store failed to answer.",
    "telemetry_lag_near_capacity": "Times a telemetry consumer fell past half the stream's room.",
}
GAUGE_HELP = {
    "ws_clients": "Websocket clients connected.",
    "consumer_pending": "Telemetry messages not yet consumed (all replicas).",
    "consumer_ack_pending": "Telemetry messages delivered, not yet acknowledged.",
    "telemetry_lag_share": "Unread share of the telemetry stream's room, worst consumer.",
}


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1


class Counters:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()
        self.gauges: dict[str, float] = {}
        self.latency: dict[tuple[str, str, str], Histogram] = {}

    def inc(self, name: str, by: int = 1) -> None:
        self.values[name] += by

    def get(self, name: str) -> int:
        return self.values[name]

    def set(self, name: str, value: float) -> None:
        self.gauges[name] = value

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, f"{status // 100}xx")
        hist = self.latency.get(key)
        if hist is None:
            hist = self.latency[key] = Histogram()
        hist.observe(seconds)
