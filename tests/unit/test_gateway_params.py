"""Times and ranges in query parameters."""

from __future__ import annotations

import pytest

from vitals_gateway.params import BadParam, parse_time, since, time_range

NOW = 1_750_000_000.0

TIMES = [
    ("1750000000", 1_750_000_000.0),
    ("1750000000.5", 1_750_000_000.5),
    ("2025-06-15T15:06:40Z", 1_750_000_000.0),
    ("2025-06-15T15:06:40", 1_750_000_000.0),
    ("2025-06-15T17:06:40+02:00", 1_750_000_000.0),
]


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time("start", text) == expected


@pytest.mark.parametrize("text", ["yesterday", "nan", "-5", "inf", "2025-13-01"])
def test_parse_time_refuses(text: str) -> None:
    with pytest.raises(BadParam) as info:
        parse_time("start", text)
    assert info.value.param == "start"


RANGES = [
    # range, start, end -> (start, end)
    (None, None, None, (NOW - 3600, NOW)),
    ("24h", None, None, (NOW - 86400, NOW)),
    (None, "1749990000", None, (1_749_990_000.0, NOW)),
    (None, "1749990000", "1749995000", (1_749_990_000.0, 1_749_995_000.0)),
]


@pytest.mark.parametrize(("range_", "start", "end", "expected"), RANGES)
def test_time_range(
    range_: str | None, start: str | None, end: str | None, expected: tuple[float, float]
) -> None:
    assert time_range(range_, start, end, NOW) == expected


RANGE_ERRORS = [
    ("1h", "1749990000", None, "range", "either range or start/end"),
    (None, None, "1749990000", "start", "end needs a start"),
    (None, "1749995000", "1749990000", "end", "end must be after start"),
    ("2w", None, None, "range", "range must be one of"),
]


@pytest.mark.parametrize(("range_", "start", "end", "param", "message"), RANGE_ERRORS)
def test_time_range_errors(
    range_: str | None, start: str | None, end: str | None, param: str, message: str
) -> None:
    with pytest.raises(BadParam, match=message) as info:
        time_range(range_, start, end, NOW)
    assert info.value.param == param
    assert info.value.http().status_code == 422


def test_since_takes_a_range_or_a_time() -> None:
    assert since("24h", NOW) == NOW - 86400
    assert since("1749990000", NOW) == 1_749_990_000.0
