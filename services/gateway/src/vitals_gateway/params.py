"""Query parameters that FastAPI cannot check alone: times and ranges. Pure."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from fastapi import HTTPException, status

from vitals_gateway.storage import windows


class BadParam(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message

    def http(self, where: str = "query") -> HTTPException:
        """A 422 shaped like FastAPI's own validation errors."""
        return HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[{"loc": [where, self.param], "msg": self.message, "type": "value_error"}],
        )


def parse_time(param: str, text: str) -> float:
    """Epoch seconds, or an ISO 8601 date-time (UTC unless it says otherwise)."""
    try:
        value = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadParam(
                param, f"{text!r} is neither epoch seconds nor an ISO 8601 date-time"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    if not math.isfinite(value) or value < 0:
        raise BadParam(param, f"{text!r} is not a time")
    return value


def time_range(
    range_: str | None, start: str | None, end: str | None, now: float, default: str = "1h"
) -> tuple[float, float]:
    """[start, end] from `range` (ending now) or `start`/`end` (end defaults to now)."""
    if range_ is not None and (start is not None or end is not None):
        raise BadParam("range", "give either range or start/end, not both")
    if start is None and end is not None:
        raise BadParam("start", "end needs a start")
    if start is None:
        try:
            seconds = windows.parse_range(range_ or default)
        except windows.WindowError as exc:
            raise BadParam("range", str(exc)) from None
        return now - seconds, now
    t0 = parse_time("start", start)
    t1 = parse_time("end", end) if end is not None else now
    if t1 <= t0:
        raise BadParam("end", "end must be after start")
    return t0, t1


def since(text: str, now: float) -> float:
    """A time, or a range back from now (`24h`)."""
    if text in windows.RANGES:
        return now - windows.RANGES[text]
    return parse_time("since", text)
