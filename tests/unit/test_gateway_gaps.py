"""History answers carry a null where a series has no data, so charts break the line."""

from __future__ import annotations

import pytest

from vitals_gateway.storage.windows import Agg, Points, gapped


def raw(*ts: int) -> Points:
    return Points(t=list(ts), mean=[float(t) for t in ts], raw=True)


@pytest.mark.parametrize(
    ("points", "end", "t", "mean"),
    [
        # Every second: no gap; a second lost to jitter is not one either.
        (raw(0, 1, 2, 4, 5), 5, [0, 1, 2, 4, 5], [0.0, 1.0, 2.0, 4.0, 5.0]),
        # 80 s without data: one null right after the last point before it.
        (raw(0, 1, 2, 82, 83), 83, [0, 1, 2, 3, 82, 83], [0.0, 1.0, 2.0, None, 82.0, 83.0]),
        # An agent every 5 s: 5 s apart is normal, a missed sample is a gap.
        (raw(0, 5, 10, 20, 25), 25, [0, 5, 10, 15, 20, 25], [0.0, 5.0, 10.0, None, 20.0, 25.0]),
        # The series stopped long before the end of the range: a null after its last point.
        (raw(0, 1, 2), 100, [0, 1, 2, 3], [0.0, 1.0, 2.0, None]),
        (raw(), 100, [], []),
        (raw(7), 100, [7], [7.0]),
    ],
)
def test_gaps_become_nulls(points: Points, end: int, t: list[int], mean: list[float]) -> None:
    columns = gapped(points, end)
    assert columns == {"t": t, "mean": mean}


def test_a_missing_bucket_of_a_rollup_is_a_gap_in_every_column() -> None:
    p = Points()
    for t in (0, 60, 180):
        p.add(t, Agg(60, 1.0, 3.0, 2.0, 3.0))
    columns = gapped(p, 180)
    assert columns["t"] == [0, 60, 120, 180]
    for name in ("mean", "min", "max", "last", "count"):
        assert columns[name][2] is None, name
    assert columns["count"] == [60, 60, None, 60]
