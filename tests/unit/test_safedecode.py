"""Every hostile payload fails as a DecodeError, through the events decoder too."""

from __future__ import annotations

import contextlib
import logging

import msgspec
import pytest

from tests.hostile_payloads import nested_array, nested_object, payloads
from vitals_core import control, events, safedecode


@pytest.mark.parametrize("kind", ["metrics", "host_info", "app", "health", "alert"])
def test_no_hostile_payload_escapes_the_event_decoder(kind: str) -> None:
    reasons = []
    for body in payloads(kind, "h"):
        try:
            events.decode(body)
        except events.InvalidEvent as exc:
            reasons.append(str(exc))
    assert len(reasons) > 30
    assert all(0 < len(r) <= safedecode.MAX_REASON + 1 for r in reasons)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (nested_array("metrics"), "JSON is nested too deeply"),
        (nested_object("metrics"), "JSON is nested too deeply"),
        (b'{"kind":"metrics","host":"\xff"}', "invalid UTF-8 in a string"),
        (b"{", "Input data was truncated"),
    ],
)
def test_reasons_name_what_is_wrong(body: bytes, reason: str) -> None:
    with pytest.raises(events.InvalidEvent, match=reason):
        events.decode(body)
    with pytest.raises(msgspec.DecodeError, match=reason):
        safedecode.decode_any(body)


def test_control_requests_and_replies_fail_only_as_decode_errors() -> None:
    for body in payloads("x", "h"):
        for verb_type in control.ALERTER_VERBS.values():
            with contextlib.suppress(msgspec.DecodeError):
                control.decode_request(verb_type, body)
        with contextlib.suppress(msgspec.DecodeError):
            control.decode_reply(body)


def test_dropped_logs_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    dropped = safedecode.Dropped(logging.getLogger("test.dropped"), every=3600.0)
    with caplog.at_level(logging.WARNING):
        for i in range(50):
            dropped.warning("dropped %d", i)
    assert [r.getMessage() for r in caplog.records] == ["dropped 0"]
