"""A consumer's unread share of what the telemetry stream can hold."""

from __future__ import annotations

import pytest

from vitals_gateway.ingest.capacity import StreamRoom, lag_share


@pytest.mark.parametrize(
    ("pending", "room", "share"),
    [
        # 1,000 messages of 1 KB in a 10 MB stream: it holds 10,000.
        (
            5_000,
            StreamRoom(messages=1_000, bytes=1_000_000, max_bytes=10_000_000, max_msgs=-1),
            0.5,
        ),
        (0, StreamRoom(messages=1_000, bytes=1_000_000, max_bytes=10_000_000, max_msgs=-1), 0.0),
        # A message cap tighter than the byte cap wins.
        (
            500,
            StreamRoom(messages=1_000, bytes=1_000_000, max_bytes=10_000_000, max_msgs=1_000),
            0.5,
        ),
        # Unbounded, or nothing stored yet to size a message by: no share to speak of.
        (5_000, StreamRoom(messages=1_000, bytes=1_000_000, max_bytes=-1, max_msgs=-1), 0.0),
        (5_000, StreamRoom(messages=0, bytes=0, max_bytes=10_000_000, max_msgs=-1), 0.0),
    ],
)
def test_lag_share(pending: int, room: StreamRoom, share: float) -> None:
    assert lag_share(pending, room) == pytest.approx(share)
