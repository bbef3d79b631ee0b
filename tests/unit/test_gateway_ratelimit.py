"""Token buckets and the login verdict."""

from __future__ import annotations

import pytest

from vitals_gateway.auth.ratelimit import TokenBucket, address_group, login_verdict, retry_after


def test_bucket_allows_a_burst_then_the_sustained_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take("t", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("t", 0.0) == pytest.approx(0.5)  # one token every 0.5 s
    assert bucket.take("t", 0.5) == 0.0
    assert bucket.take("t", 0.5) == pytest.approx(0.5)
    assert bucket.take("other", 0.5) == 0.0  # per key
    assert bucket.take("t", 10.0) == 0.0  # refilled, capped at the burst
    assert [bucket.take("t", 10.0) for _ in range(3)][-1] > 0


def test_bucket_keeps_a_bounded_number_of_keys() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, max_keys=10)
    for i in range(100):
        bucket.take(f"k{i}", 0.0)
    assert len(bucket.state) == 10


VERDICTS = [
    # (failures, limit, seconds left) per key -> wait
    ([(0, 5, -2), (0, 20, -2)], None),
    ([(4, 5, 100), (4, 20, 100)], None),
    ([(5, 5, 100), (5, 20, 100)], 100),
    ([(1, 5, 10), (20, 20, 250)], 250),
    ([(5, 5, 0), (0, 20, -2)], 1),
]


@pytest.mark.parametrize(("failures", "wait"), VERDICTS)
def test_login_verdict(failures: list[tuple[int, int, int]], wait: int | None) -> None:
    assert login_verdict(failures) == wait


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", ""),
        ("testclient", "testclient"),
    ],
)
def test_an_ipv6_client_is_counted_by_its_64(address: str, group: str) -> None:
    assert address_group(address) == group


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.9, "60")])
def test_retry_after_is_whole_seconds(seconds: float, header: str) -> None:
    assert retry_after(seconds) == header
