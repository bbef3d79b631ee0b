"""When `vitals up` restarts a dead embedded server, and what it says about the death."""

from __future__ import annotations

import pytest

from vitals.watch import FIRST_DELAY_S, MAX_DELAY_S, describe_exit, restart_delay


@pytest.mark.parametrize(
    ("previous", "ran_for", "expected"),
    [
        (0.0, 3.0, FIRST_DELAY_S),  # the first death: restarted at once
        (FIRST_DELAY_S, 3.0, 2 * FIRST_DELAY_S),  # dying again soon: doubling
        (20.0, 3.0, MAX_DELAY_S),  # bounded
        (MAX_DELAY_S, 600.0, FIRST_DELAY_S),  # after a long run: prompt again
    ],
)
def test_restart_delay(previous: float, ran_for: float, expected: float) -> None:
    assert restart_delay(previous, ran_for) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [(-9, "killed by SIGKILL"), (1, "exit code 1"), (None, "stopped answering")],
)
def test_describe_exit(code: int | None, expected: str) -> None:
    assert describe_exit(code) == expected
