"""Response bodies, as msgspec Structs: encoded fast, and their JSON Schemas go into the
OpenAPI document (`openapi.py`) next to the bus events they embed."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from vitals_core.events import AlertEvent, Annotation, AppMetrics, CheckResult, HostInfo
from vitals_core.events import MetricSample as MetricSample
from vitals_gateway.auth.audit import AuditEntry
from vitals_gateway.ingest.telemetry import HostSummary


class Model(msgspec.Struct, kw_only=True):
    pass


class TokenResponse(Model, kw_only=True):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: float


class Me(Model, kw_only=True):
    name: str
    role: Literal["admin", "viewer"]
    kind: Literal["user", "api"]
    expires_at: float | None = None


class ApiTokenInfo(Model, kw_only=True):
    id: str
    name: str
    role: Literal["admin", "viewer"]
    created_by: str
    created_at: float
    expires_at: float | None = None


class ApiTokenCreated(ApiTokenInfo, kw_only=True):
    token: str  # shown once


class ApiTokenList(Model, kw_only=True):
    tokens: list[ApiTokenInfo]


class HostStatus(Model, kw_only=True):
    host: str
    last_seen: float
    status: Literal["up", "stale"]
    alerts: int = 0
    info: HostInfo | None = None


class HostList(Model, kw_only=True):
    hosts: list[HostStatus]


class FleetMetrics(Model, kw_only=True):
    """A summary of each host's latest sample (`?host=` gives the whole sample)."""

    hosts: dict[str, HostSummary]


class HostMetrics(Model, kw_only=True):
    host: str
    status: Literal["up", "stale"]
    last_seen: float
    metrics: MetricSample
    apps: dict[str, AppMetrics] = {}
    checks: dict[str, CheckResult] = {}


class PointColumns(Model, kw_only=True):
    """One list per field, all the same length; `t` is each bucket's start (epoch s).
    A row of nulls marks where the series has no data (a gap, or its end before the range's).

    At the raw resolution only `t` and `mean` (the samples' values) are sent: each point
    is one sample, so its min, max and last equal it and its count is 1."""

    t: list[int]
    mean: list[float | None]
    min: list[float | None] | None = None
    max: list[float | None] | None = None
    last: list[float | None] | None = None
    count: list[int | None] | None = None


class SeriesPoints(Model, kw_only=True):
    host: str
    series: str
    labels: dict[str, str]
    points: PointColumns


class History(Model, kw_only=True):
    metric: str
    resolution: Literal["raw", "1m", "10m", "1h"]
    step: int
    start: float
    end: float
    series: list[SeriesPoints]


class SeriesList(Model, kw_only=True):
    host: str
    series: list[str]


class ServiceStatus(Model, kw_only=True):
    host: str
    check: str
    kind: str
    ok: bool
    ts: float
    latency_ms: float
    reason: str = ""
    group: str = ""
    status_code: int | None = None
    uptime_percent: float | None = None
    latency_mean_ms: float | None = None
    latency_max_ms: float | None = None


class Services(Model, kw_only=True):
    range: str
    services: list[ServiceStatus]


class Alerts(Model, kw_only=True):
    alerts: list[AlertEvent]


class Annotations(Model, kw_only=True):
    annotations: list[Annotation]


class AuditLog(Model, kw_only=True):
    entries: list[AuditEntry]


class Relayed(Model, kw_only=True):
    """What the alerter or the notifier answered (see their documentation for `data`)."""

    data: Any = None


class Health(Model, kw_only=True):
    # ok; degraded (serving, but e.g. the alerter does not answer); unavailable (503).
    status: Literal["ok", "degraded", "unavailable"]
    reason: str = ""  # the reasons in one sentence
    reasons: list[str] = []


class ErrorDetail(Model, kw_only=True):
    detail: Any


MODELS: tuple[type[msgspec.Struct], ...] = (
    TokenResponse,
    Me,
    ApiTokenCreated,
    ApiTokenList,
    HostList,
    FleetMetrics,
    HostMetrics,
    History,
    SeriesList,
    Services,
    Alerts,
    Annotations,
    AuditLog,
    Relayed,
    Health,
    ErrorDetail,
)

_encoder = msgspec.json.Encoder()


def encode(model: msgspec.Struct) -> bytes:
    return _encoder.encode(model)
