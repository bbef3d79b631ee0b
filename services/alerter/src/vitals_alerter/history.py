"""Alert history, read back from the alert stream itself (it keeps 30 days)."""

from __future__ import annotations

import contextlib
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from vitals_alerter.partition import reply_position
from vitals_core import control, events, subjects

MAX_LIMIT = 5000
FETCH = 500


async def query(
    js: JetStreamContext, request: control.AlertHistory, host: str, scan_limit: int
) -> dict[str, Any]:
    """Events of one alert or one host (or all), oldest first, the newest `limit` of them.

    At most `scan_limit` stored events are read; `truncated` says when more were left.
    """
    limit = max(1, min(request.limit, MAX_LIMIT))
    subject = subjects.alerts(host) if host else subjects.ALERTS_ALL
    name = f"vitals-alerter-history-{uuid.uuid4().hex}"
    config = ConsumerConfig(
        name=name,
        filter_subject=subject,
        ack_policy=AckPolicy.NONE,
        inactive_threshold=30.0,
        mem_storage=True,
        deliver_policy=DeliverPolicy.BY_START_TIME if request.since else DeliverPolicy.ALL,
        opt_start_time=datetime.fromtimestamp(request.since, UTC) if request.since else None,
    )
    await js.add_consumer(subjects.STREAM_EVENTS, config)
    sub = await js.pull_subscribe_bind(name, subjects.STREAM_EVENTS)
    found: deque[Any] = deque(maxlen=limit)
    scanned, truncated = 0, False
    try:
        while True:
            try:
                msgs = await sub.fetch(FETCH, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            pending = 0
            for msg in msgs:
                scanned += 1
                with contextlib.suppress(ValueError):
                    pending = reply_position(msg.reply)[2]
                try:
                    event = events.decode(msg.data)
                except events.InvalidEvent:
                    continue
                if not isinstance(event, events.AlertEvent):
                    continue
                if request.alert_id and event.alert_id != request.alert_id:
                    continue
                found.append(msgspec.to_builtins(event))
            if pending == 0:
                break
            if scanned >= scan_limit:
                truncated = True
                break
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()
        with contextlib.suppress(nats.errors.Error):
            await js.delete_consumer(subjects.STREAM_EVENTS, name)
    return {"events": list(found), "scanned": scanned, "truncated": truncated}
