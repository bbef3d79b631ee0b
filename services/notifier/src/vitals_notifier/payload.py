"""Webhook bodies: Vitals' own (versioned, JSON Schema in docs/) and Alertmanager's version 4.

Pure. The body is built from the stored notification, so every retry sends the same bytes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from vitals_core.events import AlertEvent
from vitals_notifier import records
from vitals_notifier.records import Item, Notification

# Alertmanager sends this for an alert that has not ended.
ZERO_TIME = "0001-01-01T00:00:00Z"


class WebhookBody(msgspec.Struct, kw_only=True):
    """The body of a Vitals webhook; `id` equals the `webhook-id` header.

    `events` holds the latest event of each alert in the group (an alert event or an
    annotation, told apart by `kind`), oldest first; `truncated` counts those left out.
    """

    type: Literal["vitals.notification"] = "vitals.notification"
    version: Literal[1] = 1
    id: str
    timestamp: str
    receiver: str
    status: Literal["firing", "resolved"]
    group_key: str
    group_labels: dict[str, str]
    external_url: str = ""
    truncated: int = 0
    events: list[Item]


class AlertmanagerAlert(msgspec.Struct, kw_only=True):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str = msgspec.field(name="startsAt")
    ends_at: str = msgspec.field(name="endsAt")
    generator_url: str = msgspec.field(name="generatorURL")
    fingerprint: str


class AlertmanagerBody(msgspec.Struct, kw_only=True):
    """Alertmanager's webhook body, version 4, so its receivers work unchanged."""

    version: Literal["4"] = "4"
    group_key: str = msgspec.field(name="groupKey")
    truncated_alerts: int = msgspec.field(name="truncatedAlerts")
    status: Literal["firing", "resolved"]
    receiver: str
    group_labels: dict[str, str] = msgspec.field(name="groupLabels")
    common_labels: dict[str, str] = msgspec.field(name="commonLabels")
    common_annotations: dict[str, str] = msgspec.field(name="commonAnnotations")
    external_url: str = msgspec.field(name="externalURL")
    alerts: list[AlertmanagerAlert]


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def vitals_body(n: Notification, external_url: str = "") -> WebhookBody:
    return WebhookBody(
        id=n.id,
        timestamp=rfc3339(n.created_at),
        receiver=n.receiver,
        status="resolved" if records.status(n.events) == "resolved" else "firing",
        group_key=n.group_key,
        group_labels=n.group_labels,
        external_url=external_url,
        truncated=n.truncated,
        events=n.events,
    )


def alertmanager_body(n: Notification, external_url: str = "") -> AlertmanagerBody:
    """The whole group (firing and just-resolved alerts), as Alertmanager sends it, so a
    receiver can render the group's state from any one message."""
    items, truncated = (n.group, n.group_truncated) if n.group else (n.events, n.truncated)
    alerts = [alertmanager_alert(e, external_url) for e in items]
    return AlertmanagerBody(
        group_key=n.group_key,
        truncated_alerts=truncated,
        status="resolved" if records.status(items) == "resolved" else "firing",
        receiver=n.receiver,
        group_labels=n.group_labels,
        common_labels=_common([a.labels for a in alerts]),
        common_annotations=_common([a.annotations for a in alerts]),
        external_url=external_url,
        alerts=alerts,
    )


def alertmanager_alert(e: Item, external_url: str) -> AlertmanagerAlert:
    if isinstance(e, AlertEvent):
        labels = {**e.labels, "alertname": e.rule, "severity": e.severity, "host": e.host}
        annotations = {"summary": e.summary, "description": e.description, "event": e.event}
        if e.metric:
            annotations["metric"] = e.metric
        if e.value is not None:
            annotations["value"] = f"{e.value:g}"
        if e.threshold is not None:
            annotations["threshold"] = f"{e.threshold:g}"
        if e.acknowledged_by:
            annotations["acknowledged_by"] = e.acknowledged_by
        resolved = e.event == "resolved"
        started = e.started_at or e.ts
        ended = e.resolved_at or e.ts
        alert_id = e.alert_id
    else:
        labels = {"alertname": "annotation", "severity": "info", "host": e.host}
        annotations = {"summary": e.text, "event": "annotation", "tags": ",".join(e.tags)}
        resolved, started, ended, alert_id = False, e.ts, e.ts, e.id
    return AlertmanagerAlert(
        status="resolved" if resolved else "firing",
        labels={k: v for k, v in labels.items() if v},
        annotations={k: v for k, v in annotations.items() if v},
        starts_at=rfc3339(started),
        ends_at=rfc3339(ended) if resolved else ZERO_TIME,
        generator_url=f"{external_url.rstrip('/')}/alerts/{alert_id}" if external_url else "",
        fingerprint=hashlib.sha256(alert_id.encode()).hexdigest()[:16],
    )


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


_encoder = msgspec.json.Encoder()


def encode(n: Notification, fmt: str, external_url: str = "") -> bytes:
    if fmt == "alertmanager":
        return _encoder.encode(alertmanager_body(n, external_url))
    return _encoder.encode(vitals_body(n, external_url))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of both webhook bodies, as published in `docs/webhook.schema.json`."""
    (vitals, alertmanager), components = msgspec.json.schema_components(
        [WebhookBody, AlertmanagerBody], ref_template="#/$defs/{name}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Vitals webhook body",
        "description": "Format `vitals` (the default) or `alertmanager` (version 4), "
        "chosen per receiver.",
        "oneOf": [vitals, alertmanager],
        "$defs": components,
    }
