"""What `/healthz` answers from what the gateway sees."""

from __future__ import annotations

import pytest

from vitals_gateway.healthwatch import Verdict, alerter_problem, verdict
from vitals_gateway.relay import ControlError

BUS = "bus unreachable (NATS)"
STORAGE = "storage unreachable (Redis)"


@pytest.mark.parametrize(
    ("bus", "storage", "alerter", "expected"),
    [
        (True, True, None, Verdict(200, "ok", [])),
        (True, True, "no answer", Verdict(200, "degraded", ["alerter not answering: no answer"])),
        (False, True, None, Verdict(503, "unavailable", [BUS])),
        (True, False, "no answer", Verdict(503, "unavailable", [STORAGE])),
        (False, False, "no answer", Verdict(503, "unavailable", [BUS, STORAGE])),
    ],
)
def test_verdict(bus: bool, storage: bool, alerter: str | None, expected: Verdict) -> None:
    assert verdict(bus, storage, alerter) == expected


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (
            "the alerter is not running: nothing answers its requests on the bus",
            "nothing answers its requests on the bus",
        ),
        ("the alerter did not answer within 3 s", "did not answer within 3 s"),
    ],
)
def test_alerter_problem(message: str, problem: str) -> None:
    assert alerter_problem(ControlError(503, message)) == problem
