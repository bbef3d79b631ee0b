"""After an interruption (a disconnect, a stalled loop) the input is back only once it has
delivered telemetry stored since the impairment began: a reconnect while the stream still
elects its leader must not restart every host's absence window with no sample to come."""

from __future__ import annotations

from vitals_alerter.health import HEALTHY, Health, HealthSettings, Observed, judge

CFG = HealthSettings()
HOSTS = {"a": -2.0, "b": -2.0, "c": -2.0}  # known, none silent yet


def impaired_at_10() -> Health:
    health = judge(HEALTHY, Observed(connected=False, silence=HOSTS, read_to=9.5), 10.0, CFG)
    assert health.impaired
    assert health.since == 10.0
    return health


def test_a_reconnect_alone_does_not_end_it() -> None:
    health = impaired_at_10()
    later = judge(health, Observed(silence=HOSTS, read_to=9.5), 11.0, CFG)
    assert later.impaired
    assert later.reason == "the alerter is disconnected from NATS"


def test_telemetry_stored_after_it_began_ends_it() -> None:
    health = impaired_at_10()
    later = judge(health, Observed(silence=HOSTS, read_to=12.0), 13.0, CFG)
    assert not later.impaired


def test_not_waited_for_longer_than_the_window() -> None:
    health = impaired_at_10()
    at_window = 10.0 + CFG.window_s
    later = judge(health, Observed(silence=HOSTS, read_to=9.5), at_window, CFG)
    assert not later.impaired


def test_not_waited_for_when_no_host_is_known_or_reads_are_not_told() -> None:
    health = judge(HEALTHY, Observed(connected=False, read_to=9.5), 10.0, CFG)
    assert not judge(health, Observed(read_to=9.5), 11.0, CFG).impaired
    health = impaired_at_10()
    assert not judge(health, Observed(silence=HOSTS), 11.0, CFG).impaired
