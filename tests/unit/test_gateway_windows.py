"""Window arithmetic against hand-computed tables."""

from __future__ import annotations

import math

import pytest

from vitals_gateway.storage import windows
from vitals_gateway.storage.windows import (
    HOUR,
    MINUTE,
    NAN,
    RAW,
    TEN_MINUTES,
    Agg,
    Points,
    Span,
    WindowError,
)

# --- rollups of raw values (time order, NaN = no sample) ----------------------------------

ROLLUPS = [
    # values                       count  min    max   mean   last
    ([1.0, 2.0, 3.0, NAN, 4.0], Agg(4, 1.0, 4.0, 2.5, 4.0)),
    ([5.0], Agg(1, 5.0, 5.0, 5.0, 5.0)),
    ([-1.0, 3.0], Agg(2, -1.0, 3.0, 1.0, 3.0)),
    ([NAN, 7.5, NAN, 0.5, NAN], Agg(2, 0.5, 7.5, 4.0, 0.5)),
    ([10.0, 0.0, 10.0, 0.0], Agg(4, 0.0, 10.0, 5.0, 0.0)),
]


@pytest.mark.parametrize(("values", "expected"), ROLLUPS)
def test_rollup_of_raw_values(values: list[float], expected: Agg) -> None:
    assert windows.rollup(values) == expected


@pytest.mark.parametrize("values", [[], [NAN], [NAN, NAN, NAN]])
def test_rollup_of_nothing_is_none(values: list[float]) -> None:
    assert windows.rollup(values) is None


COMBINES = [
    # (count, min, max, mean, last) children in time order -> combined
    ([Agg(2, 1.0, 3.0, 2.0, 3.0), None, Agg(3, 0.0, 9.0, 5.0, 9.0)], Agg(5, 0.0, 9.0, 3.8, 9.0)),
    ([Agg(1, 5.0, 5.0, 5.0, 5.0), Agg(1, 7.0, 7.0, 7.0, 7.0)], Agg(2, 5.0, 7.0, 6.0, 7.0)),
    (
        [Agg(60, 10.0, 20.0, 12.0, 11.0), Agg(20, 30.0, 40.0, 36.0, 31.0)],
        Agg(80, 10.0, 40.0, 18.0, 31.0),
    ),
    ([None, Agg(4, 2.0, 8.0, 4.0, 2.0), None], Agg(4, 2.0, 8.0, 4.0, 2.0)),
]


@pytest.mark.parametrize(("children", "expected"), COMBINES)
def test_combine_rollups(children: list[Agg | None], expected: Agg) -> None:
    got = windows.combine(children)
    assert got is not None
    assert got._replace(mean=round(got.mean, 9)) == expected


def test_combine_of_nothing_is_none() -> None:
    assert windows.combine([None, None]) is None
    assert windows.combine([]) is None


def test_minutes_rolled_into_ten_minutes_match_the_hand_table() -> None:
    # Three minutes of raw samples every 20 s, one sample missing, by hand:
    # minute 0: 1, 2, 3     -> count 3, min 1, max 3, mean 2,  last 3
    # minute 1: 10, -, 20   -> count 2, min 10, max 20, mean 15, last 20
    # minute 2: 4, 4, 7     -> count 3, min 4, max 7, mean 5,  last 7
    # ten minutes: count 8, min 1, max 20, mean (6 + 30 + 15) / 8 = 6.375, last 7
    minutes = [[1.0, 2.0, 3.0], [10.0, NAN, 20.0], [4.0, 4.0, 7.0]]
    rolled = [windows.rollup(m) for m in minutes]
    assert rolled == [
        Agg(3, 1.0, 3.0, 2.0, 3.0),
        Agg(2, 10.0, 20.0, 15.0, 20.0),
        Agg(3, 4.0, 7.0, 5.0, 7.0),
    ]
    assert windows.combine(rolled) == Agg(8, 1.0, 20.0, 6.375, 7.0)


# --- slot layout -------------------------------------------------------------------------

OFFSETS = [
    # resolution, t, chunk start, bucket, byte offset in the chunk
    (RAW, 1000, 600, 1000, 400 * 4),
    (RAW, 1200.9, 1200, 1200, 0),
    (RAW, 1799, 1200, 1799, 599 * 4),
    (MINUTE, 7260, 7200, 7260, 20),
    (MINUTE, 7319.5, 7200, 7260, 20),
    (MINUTE, 14399, 7200, 14340, 119 * 20),
    (TEN_MINUTES, 86400 + 1250, 86400, 86400 + 1200, 2 * 20),
    (HOUR, 864000 + 7300, 864000, 864000 + 7200, 2 * 20),
]


@pytest.mark.parametrize(("res", "t", "chunk", "bucket", "offset"), OFFSETS)
def test_slot_positions(
    res: windows.Resolution, t: float, chunk: int, bucket: int, offset: int
) -> None:
    assert res.chunk_of(t) == chunk
    assert res.bucket(t) == bucket
    assert res.offset(t) == offset
    assert res.expire_at(chunk) == chunk + res.chunk + res.retention


def test_every_bucket_lies_inside_one_chunk_of_the_level_below() -> None:
    for res in windows.RESOLUTIONS[1:]:
        below = windows.RESOLUTIONS[windows.RESOLUTIONS.index(res) - 1]
        assert below.chunk % res.step == 0
        assert res.chunk % res.step == 0


SPANS = [
    (RAW, 595, 605, [Span(0, 595 * 4, 5 * 4, 595), Span(600, 0, 6 * 4, 600)]),
    (RAW, 600, 600, [Span(600, 0, 4, 600)]),
    (MINUTE, 7140, 7300, [Span(0, 119 * 20, 20, 7140), Span(7200, 0, 40, 7200)]),
    (HOUR, 0, 3600 * 3 - 1, [Span(0, 0, 3 * 20, 0)]),
]


@pytest.mark.parametrize(("res", "start", "end", "expected"), SPANS)
def test_spans_cover_the_range_one_getrange_per_chunk(
    res: windows.Resolution, start: float, end: float, expected: list[Span]
) -> None:
    assert windows.spans(res, start, end) == expected


def test_floats_round_trip_as_float32_and_clamp() -> None:
    data = windows.pack_floats([1.5, -2.25, NAN, 1e39, -1e39])
    assert len(data) == 20
    back = windows.unpack_floats(data)
    assert back[:2] == [1.5, -2.25]
    assert math.isnan(back[2])
    assert back[3] == pytest.approx(windows.F32_MAX)
    assert back[4] == pytest.approx(-windows.F32_MAX)


def test_aggs_round_trip_and_count_zero_is_empty() -> None:
    agg = Agg(3, 1.0, 3.0, 2.0, 3.0)
    data = windows.pack_agg(agg) + bytes(20) + windows.pack_agg(Agg(1, 0.5, 0.5, 0.5, 0.5))
    assert windows.unpack_aggs(data) == [agg, None, Agg(1, 0.5, 0.5, 0.5, 0.5)]


def test_decoding_a_raw_span_skips_missing_slots_and_keeps_the_range() -> None:
    span = Span(600, 0, 5 * 4, 600)
    data = windows.pack_floats([1.0, NAN, 3.0, 4.0, 5.0])
    points = Points()
    windows.decode_span(RAW, span, data, 600, 603, points)
    assert points.t == [600, 602, 603]
    assert points.mean == [1.0, 3.0, 4.0]
    assert points.columns() == {"t": [600, 602, 603], "mean": [1.0, 3.0, 4.0]}
    assert points.aggs()[0] == (600, Agg(1, 1.0, 1.0, 1.0, 1.0))


def test_decoding_a_rollup_span_keeps_the_buckets_with_data_in_the_range() -> None:
    span = Span(7200, 0, 4 * 20, 7200)
    data = (
        windows.pack_agg(Agg(3, 1.0, 3.0, 2.0, 3.0))
        + bytes(20)
        + windows.pack_agg(Agg(1, 5.0, 5.0, 5.0, 5.0))
        + windows.pack_agg(Agg(2, 0.0, 8.0, 4.0, 8.0))
    )
    points = Points()
    windows.decode_span(MINUTE, span, data, 7200, 7380, points)
    assert points.aggs() == [
        (7200, Agg(3, 1.0, 3.0, 2.0, 3.0)),
        (7320, Agg(1, 5.0, 5.0, 5.0, 5.0)),
        (7380, Agg(2, 0.0, 8.0, 4.0, 8.0)),
    ]
    later = Points()
    windows.decode_span(MINUTE, span, data, 7300, 7330, later)
    assert later.t == [7320]


DOWNSAMPLES = [
    # (t, value) raw points, step -> (t, count, min, max, mean, last)
    (
        [(0, 1.0), (1, 3.0), (10, 5.0), (19, 7.0)],
        10,
        [(0, 2, 1.0, 3.0, 2.0, 3.0), (10, 2, 5.0, 7.0, 6.0, 7.0)],
    ),
    (
        [(5, 2.0), (65, 4.0), (125, 6.0)],
        60,
        [(0, 1, 2.0, 2.0, 2.0, 2.0), (60, 1, 4.0, 4.0, 4.0, 4.0), (120, 1, 6.0, 6.0, 6.0, 6.0)],
    ),
    (
        [(5, 2.0), (65, 4.0), (125, 6.0)],
        120,
        [(0, 2, 2.0, 4.0, 3.0, 4.0), (120, 1, 6.0, 6.0, 6.0, 6.0)],
    ),
    ([], 60, []),
]


@pytest.mark.parametrize(("raw", "step", "expected"), DOWNSAMPLES)
def test_downsample(
    raw: list[tuple[int, float]],
    step: int,
    expected: list[tuple[int, int, float, float, float, float]],
) -> None:
    points = Points()
    for t, v in raw:
        points.add(t, Agg(1, v, v, v, v))
    out = windows.downsample(points, step)
    assert (
        list(zip(out.t, out.count, out.min, out.max, out.mean, out.last, strict=True)) == expected
    )


# --- choosing the resolution ---------------------------------------------------------------

NOW = 1_700_000_000.0
PICKS = [
    # range (s), step, resolution
    (3600, None, RAW),
    (6 * 3600, None, MINUTE),
    (86400, None, MINUTE),
    (7 * 86400, None, TEN_MINUTES),
    (30 * 86400, None, HOUR),
    (90 * 86400, None, HOUR),
    (3600, 30, RAW),
    (3600, 60, MINUTE),
    (3600, 300, MINUTE),
    (3600, 600, TEN_MINUTES),
    (86400, 7200, HOUR),
    (7 * 86400, 60, TEN_MINUTES),
]


@pytest.mark.parametrize(("span", "step", "expected"), PICKS)
def test_pick_resolution(span: int, step: int | None, expected: windows.Resolution) -> None:
    assert windows.pick(NOW - span, NOW, NOW, step) is expected


PICK_ERRORS = [
    (NOW, NOW, None, "end must be after start"),
    (NOW - 3600, NOW - 7200, None, "end must be after start"),
    (NOW - 91 * 86400, NOW, None, "older than the longest retention"),
    (NOW - 3600, NOW, 0, "step must be at least 1"),
    (NOW - 3600, NOW + 10 * 86400, None, "more than 20000 points"),
]


@pytest.mark.parametrize(("start", "end", "step", "message"), PICK_ERRORS)
def test_pick_refuses_what_the_windows_cannot_answer(
    start: float, end: float, step: int | None, message: str
) -> None:
    with pytest.raises(WindowError, match=message):
        windows.pick(start, end, NOW, step)


RANGE_TEXTS = [("1h", 3600), ("6h", 21600), ("24h", 86400), ("7d", 604800)]


@pytest.mark.parametrize(("text", "seconds"), RANGE_TEXTS)
def test_parse_range(text: str, seconds: int) -> None:
    assert windows.parse_range(text) == seconds


def test_parse_range_names_the_allowed_values() -> None:
    with pytest.raises(WindowError, match="range must be one of 1h, 6h, 24h, 7d"):
        windows.parse_range("2w")


DUE = [
    # parent, bucket, now -> due
    (MINUTE, 600, 610.0, 665.0),  # on time: the bucket's end plus grace
    (MINUTE, 600, 700.0, 705.0),  # late write: from now
    (TEN_MINUTES, 0, 100.0, 615.0),
    (HOUR, 3600, 0.0, 7230.0),
]


@pytest.mark.parametrize(("parent", "bucket", "now", "due"), DUE)
def test_due_at(parent: windows.Resolution, bucket: int, now: float, due: float) -> None:
    assert windows.due_at(parent, bucket, now) == due
