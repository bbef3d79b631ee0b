"""What each telemetry message becomes in the window store. Pure: the clock is passed in.

A message is checked against its subject (the host in `vitals.<family>.<host>[.<name>]`
must be the event's), decoded, and turned into a `Write`: its latest-value document, the
fleet summary for metrics samples, and its points (`vitals_core.series` names).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from vitals_core import events, keys, series, subjects
from vitals_gateway.store import Write
from vitals_gateway.windows import RAW

# Agents may run a little ahead of the gateway's clock; beyond this a timestamp is wrong.
MAX_FUTURE_S = 300.0
MAX_NAME = 200


class Rejected(ValueError):
    """A message that cannot be stored; the text says why."""


@dataclass
class Converted:
    write: Write
    event: events.Event
    dropped_points: int = 0  # too old for the raw window, or a name that cannot be stored


_summary_encoder = msgspec.json.Encoder()


def summarize(s: events.MetricSample) -> events.MetricSample:
    """The sample a fleet view shows: without per-core CPU, per-device IO and process lists."""
    replace = msgspec.structs.replace
    return replace(
        s,
        cpu=replace(s.cpu, cores=[]),
        disk_io=[],
        processes=events.Processes(total=s.processes.total) if s.processes else None,
        gpus=[replace(g, processes=[]) for g in s.gpus],
    )


def convert(subject: str, data: bytes, now: float) -> Converted:
    """Turn one telemetry message into a `Write`, or raise `Rejected` naming what is wrong."""
    parts = subject.split(".")
    if len(parts) < 3 or parts[0] != subjects.PREFIX:
        raise Rejected(f"subject {subject!r} is not a telemetry subject")
    family, host = parts[1], parts[2]
    try:
        event = events.decode(data)
    except events.InvalidEvent as exc:
        raise Rejected(str(exc)) from None
    expected = _KINDS.get(family)
    if expected is None or not isinstance(event, expected):
        raise Rejected(f"a {event.__class__.__name__} event does not belong on {subject!r}")
    if event.host != host:
        raise Rejected(f"host {event.host!r} does not match the subject's {host!r}")
    if event.ts > now + MAX_FUTURE_S:
        raise Rejected(f"timestamp {event.ts} is in the future")

    if isinstance(event, events.MetricSample):
        write = Write(
            host,
            event.ts,
            "metrics",
            keys.latest(host),
            "",
            data,
            _summary_encoder.encode(summarize(event)),
        )
    elif isinstance(event, events.AppMetrics):
        name = _name_token(parts, event.app, "app")
        write = Write(host, event.ts, f"app:{name}", keys.app_latest(host), name, data)
    elif isinstance(event, events.CheckResult):
        name = _name_token(parts, event.check, "check")
        write = Write(host, event.ts, f"check:{name}", keys.checks_latest(host), name, data)
    else:
        assert isinstance(event, events.HostInfo)
        return Converted(Write(host, event.ts, "info", keys.host_info(host), "", data), event)

    dropped = 0
    if event.ts < now - RAW.retention:
        # Older than the raw window (a long backlog): kept as latest only if nothing newer is.
        return Converted(write, event, dropped_points=sum(1 for _ in series.points(event)))
    for name, value in series.points(event):
        if len(name) > MAX_NAME or "\n" in name:
            dropped += 1
            continue
        write.names.append(name)
        write.values.append(value)
    return Converted(write, event, dropped)


def _name_token(parts: list[str], name: str, what: str) -> str:
    if len(parts) != 4 or parts[3] != name:
        raise Rejected(f"{what} {name!r} does not match the subject")
    return name


_KINDS: dict[str, type[events.Event]] = {
    "metrics": events.MetricSample,
    "info": events.HostInfo,
    "app": events.AppMetrics,
    "health": events.CheckResult,
}
