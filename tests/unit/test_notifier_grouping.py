"""Grouping: group_wait gathers a burst, group_interval spaces later sends, idle groups go."""

from __future__ import annotations

import pytest

from vitals_notifier import grouping
from vitals_notifier.grouping import Groups
from vitals_notifier.routes import View


def flushes(groups: Groups[str], times: list[float]) -> list[tuple[float, list[str]]]:
    out = []
    for t in times:
        for batch in groups.pop_due(t):
            out.append((t, batch.items))
    return out


def test_burst_within_group_wait_is_one_batch() -> None:
    g: Groups[str] = Groups(max_groups=10)
    for i, t in enumerate([100.0, 100.5, 101.0, 104.9]):
        assert g.add("k", f"e{i}", t, wait=5.0, interval=60.0)
    assert g.next_due() == 105.0
    assert flushes(g, [104.99, 105.0]) == [(105.0, ["e0", "e1", "e2", "e3"])]


@pytest.mark.parametrize(
    ("arrive", "expected_due"),
    [
        (110.0, 165.0),  # within group_interval of the last send: waits for it
        (170.0, 170.0),  # after group_interval: due at once
    ],
)
def test_after_a_send_group_interval_spaces_the_next(arrive: float, expected_due: float) -> None:
    g: Groups[str] = Groups(max_groups=10)
    g.add("k", "first", 100.0, wait=5.0, interval=60.0)
    assert flushes(g, [105.0]) == [(105.0, ["first"])]
    g.add("k", "later", arrive, wait=5.0, interval=60.0)
    assert g.next_due() == expected_due


def test_idle_group_is_forgotten_and_next_event_waits_group_wait_again() -> None:
    g: Groups[str] = Groups(max_groups=10)
    g.add("k", "a", 0.0, wait=5.0, interval=60.0)
    flushes(g, [5.0])
    assert len(g) == 1
    flushes(g, [65.0])
    assert len(g) == 0
    g.add("k", "b", 200.0, wait=5.0, interval=60.0)
    assert g.next_due() == 205.0


def test_zero_wait_flushes_at_once_and_groups_are_separate() -> None:
    g: Groups[str] = Groups(max_groups=10)
    g.add("a", "x", 1.0, wait=0.0, interval=0.0)
    g.add("b", "y", 1.0, wait=0.0, interval=0.0)
    assert sorted(items for _, items in flushes(g, [1.0])) == [["x"], ["y"]]
    assert len(g) == 0


def test_bound_on_groups_refuses_new_groups_not_members() -> None:
    g: Groups[str] = Groups(max_groups=2)
    assert g.add("a", "1", 0.0, 5.0, 60.0)
    assert g.add("b", "2", 0.0, 5.0, 60.0)
    assert not g.add("c", "3", 0.0, 5.0, 60.0)
    assert g.add("a", "4", 1.0, 5.0, 60.0)
    assert sorted(g.pending()) == ["1", "2", "4"]


def test_group_labels_and_key() -> None:
    v = View(kind="firing", severity="critical", host="gpu-1", rule="disk_full",
             alert_id="a1", labels={"mount": '/data"x'})  # fmt: skip
    assert grouping.group_labels(v, ["host", "rule"]) == {"host": "gpu-1", "rule": "disk_full"}
    assert grouping.group_labels(v, ["..."]) == {"alert_id": "a1"}
    assert grouping.group_labels(v, []) == {}
    key = grouping.group_key("ops", "disks", grouping.group_labels(v, ["mount", "host"]))
    assert key == 'ops/disks:{host="gpu-1",mount="/data\\"x"}'
