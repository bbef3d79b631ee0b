"""An alert state is stored in KV as JSON and must read back as it was written.

A state that never saw a sample (the pipeline alert, an acknowledged or silenced alert
restored before its series arrived) was written with `sample_at = -inf`, which JSON has no
word for: msgspec writes `null`, and the next owner of the partition could not read it, so
it never resolved what that state had fired.
"""

from __future__ import annotations

import msgspec

from vitals_alerter.alerts import AlertState
from vitals_core import safedecode


def roundtrip(state: AlertState) -> AlertState:
    back: AlertState = safedecode.decode_as(msgspec.json.encode(state), AlertState)
    return back


def test_a_state_that_never_saw_a_sample_reads_back() -> None:
    state = AlertState(
        alert_id="a1", rule="telemetry_pipeline_down", host="vitals-pipeline", series="pipeline",
        labels={}, status="firing", started_at=100.0, fired_at=105.0,
    )  # fmt: skip
    assert roundtrip(state) == state


def test_a_state_written_with_null_sample_at_reads_back() -> None:
    # What the alerter wrote before: such entries are in existing buckets.
    stored = (
        b'{"alert_id":"a1","rule":"r","host":"h","series":"s","labels":{},'
        b'"status":"firing","sample_at":null}'
    )
    state: AlertState = safedecode.decode_as(stored, AlertState)
    assert (state.status, state.alert_id) == ("firing", "a1")


def test_a_state_with_samples_keeps_its_replay_mark() -> None:
    state = AlertState(alert_id="a2", rule="r", host="h", series="s", labels={}, sample_at=12.5)
    assert roundtrip(state).sample_at == 12.5
