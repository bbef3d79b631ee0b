"""Each alerter replica judges a mass silence over every host in the stream, not only over
the hosts of its own partitions: a replica owning one host of a fleet whose telemetry
stopped during a NATS election is impaired like the others, so it holds `host_down`."""

from __future__ import annotations

from vitals_alerter.health import HEALTHY, Arrivals, HealthSettings, Observed, judge

CFG = HealthSettings()


def fleet(*hosts: str, until: float, interval: float = 1.0) -> Arrivals:
    seen = Arrivals()
    for host in hosts:
        t = 100.0
        while t <= until:
            seen.note(host, t)
            t += interval
    return seen


def test_the_other_hosts_silence_is_judged_from_their_own_interval() -> None:
    seen = fleet("a", "b", until=110.0)
    # Down after 3 missed intervals of 1 s: 3 s past the last sample.
    assert seen.silence(112.0) == {"a": -1.0, "b": -1.0}
    assert seen.silence(114.5) == {"a": 1.5, "b": 1.5}


def test_a_replica_owning_one_host_is_impaired_when_the_whole_stream_stops() -> None:
    others = fleet("h2", "h3", until=110.0)
    own = {"h1": 0.5}  # its own host: half a second past its absence limit
    health = judge(HEALTHY, Observed(silence=others.silence(113.5) | own), 113.5, CFG)
    assert health.impaired
    assert health.reason == "3 of 3 hosts went silent at once"
    # Alone, its own host is no mass silence: it is down.
    assert not judge(HEALTHY, Observed(silence=own), 113.5, CFG).impaired


def test_a_burst_of_resent_samples_does_not_shrink_the_interval() -> None:
    seen = fleet("a", until=110.0)
    for i in range(20):  # an agent resending its backlog: many samples in a moment
        seen.note("a", 120.0 + i * 0.01)
    assert seen.silence(120.5)["a"] < 0  # not judged on 0.01 s intervals
    seen.note("a", 121.19)  # its next sample: its own interval again
    assert seen.silence(124.0)["a"] == 124.0 - (121.19 + 3 * 1.0)


def test_hosts_long_gone_are_forgotten() -> None:
    seen = fleet("a", "b", until=110.0)
    for t in range(111, 900):
        seen.note("b", float(t))
    seen.silence(900.0)
    assert set(seen.silence(900.0)) == {"b"}
