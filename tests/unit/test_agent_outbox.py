"""The bounded outbox: oldest first across lanes, drops counted, the event in flight kept."""

from __future__ import annotations

import pytest

from vitals_agent.outbox import Outbox


def put(box: Outbox, lane: str, n: int) -> int:
    return box.put(lane, f"vitals.{lane}.h", str(n).encode(), f"{lane}-{n}")


def test_oldest_first_across_lanes() -> None:
    box = Outbox({"metrics": 10, "health": 10})
    put(box, "metrics", 1)
    put(box, "health", 1)
    put(box, "metrics", 2)
    order = []
    while (entry := box.take()) is not None:
        order.append(entry.msg_id)
        box.done(entry)
    assert order == ["metrics-1", "health-1", "metrics-2"]
    assert len(box) == 0


def test_a_full_lane_drops_its_oldest_and_counts() -> None:
    box = Outbox({"metrics": 3, "health": 3})
    dropped = [put(box, "metrics", n) for n in range(1, 6)]
    put(box, "health", 1)
    assert dropped == [0, 0, 0, 1, 1]
    assert box.lane_size("metrics") == 3
    assert box.take_dropped("metrics") == 2
    assert box.take_dropped("metrics") == 0  # reported once
    assert box.dropped_total == {"metrics": 2, "health": 0}
    entry = box.take()
    assert entry is not None
    assert entry.msg_id == "metrics-3"


def test_the_event_being_sent_is_not_dropped_under_it() -> None:
    box = Outbox({"metrics": 2})
    put(box, "metrics", 1)
    put(box, "metrics", 2)
    in_flight = box.take()
    assert in_flight is not None
    put(box, "metrics", 3)
    put(box, "metrics", 4)  # full: drops 2, the oldest waiting; 1 is on its way
    assert len(box) == 3
    box.done(in_flight)
    remaining = []
    while (entry := box.take()) is not None:
        remaining.append(entry.msg_id)
        box.done(entry)
    assert remaining == ["metrics-3", "metrics-4"]
    assert box.dropped_total["metrics"] == 1
    assert len(box) == 0


def test_entries_put_back_go_first_in_their_order() -> None:
    box = Outbox({"metrics": 10, "health": 10})
    for n in range(1, 4):
        put(box, "metrics", n)
        put(box, "health", n)
    taken = [e for _ in range(4) if (e := box.take()) is not None]  # m1 h1 m2 h2
    assert len(taken) == 4
    assert box.waiting == 2
    assert len(box) == 6
    box.done(taken[0])  # m1 acknowledged; the rest failed
    box.put_back(taken[1:])
    order = []
    while (entry := box.take()) is not None:
        order.append(entry.msg_id)
        box.done(entry)
    assert order == ["health-1", "metrics-2", "health-2", "metrics-3", "health-3"]
    assert len(box) == 0


def test_a_lane_over_its_bound_after_a_put_back_is_trimmed_by_the_next_put() -> None:
    box = Outbox({"metrics": 2})
    put(box, "metrics", 1)
    put(box, "metrics", 2)
    taken = [box.take(), box.take()]
    put(box, "metrics", 3)
    put(box, "metrics", 4)
    box.put_back([e for e in taken if e is not None])  # 1, 2, 3, 4 wait: two too many
    assert put(box, "metrics", 5) == 3
    assert box.take_dropped("metrics") == 3
    remaining = []
    while (entry := box.take()) is not None:
        remaining.append(entry.msg_id)
        box.done(entry)
    assert remaining == ["metrics-4", "metrics-5"]


def test_a_lane_always_holds_one() -> None:
    box = Outbox({"metrics": 0})
    put(box, "metrics", 1)
    assert len(box) == 1


def test_no_lanes_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one lane"):
        Outbox({})


def test_drops_reported_by_an_event_that_is_dropped_are_owed_again() -> None:
    box = Outbox({"metrics": 2})
    total_reported = 0
    sent = []
    for n in range(1, 11):
        carried = box.take_dropped("metrics")
        box.put("metrics", "s", b"", f"m-{n}", carried=carried)
        if n % 4 == 0:  # the bus takes one now and then
            entry = box.take()
            assert entry is not None
            sent.append(entry)
            box.done(entry)
    while (entry := box.take()) is not None:
        sent.append(entry)
        box.done(entry)
    total_reported = sum(e.carried for e in sent) + box.take_dropped("metrics")
    # Ten events: those sent plus those dropped, every drop reported exactly once.
    assert len(sent) + total_reported == 10
    assert box.dropped_total["metrics"] == total_reported
