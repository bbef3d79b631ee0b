"""Timeline tests of the pure engine: timed samples and ticks in, the exact events out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vitals_alerter.evaluator import Evaluator
from vitals_alerter.rules import compile_inhibit, compile_rule
from vitals_alerter.silences import Silence
from vitals_core import control
from vitals_core.events import AlertEvent, Cpu, DiskUsage, Gpu, Memory, MetricSample
from vitals_core.settings import AlerterSettings
from vitals_core.settings.alerter import EscalationSettings, EscalationStep, RuleSettings

Step = tuple[float, str, Any]  # (time, action, argument)


def rule(name: str = "r", metric: str = "m", **kw: Any) -> Any:
    ladder = kw.pop("ladder", None)
    ladders = {}
    if ladder is not None:
        ladders["l"] = compile_ladder(ladder)
        kw["escalation"] = "l"
    repeat = kw.pop("repeat", 0.0)
    return compile_rule(RuleSettings(name=name, metric=metric, **kw), ladders, repeat)


def compile_ladder(steps: list[dict[str, Any]]) -> Any:
    from vitals_alerter.rules import _ladder

    return _ladder(EscalationSettings(name="l", steps=[EscalationStep(**s) for s in steps]))


def play(ev: Evaluator, script: list[Step]) -> list[tuple[float, str, str]]:
    """Run the script; every event as (time, kind, severity)."""
    return [(e.ts, e.event, e.severity) for e in play_events(ev, script)]


def play_events(ev: Evaluator, script: list[Step]) -> list[AlertEvent]:
    out: list[AlertEvent] = []
    for t, action, arg in script:
        if action == "v":  # one value of series `m` on host `h`
            ev.observe_point("h", "m", float(arg), t, out)
        elif action == "p":  # (host, series, value)
            ev.observe_point(arg[0], arg[1], float(arg[2]), t, out)
        elif action == "event":
            out.extend(ev.observe(arg, t))
        elif action == "tick":
            out.extend(ev.tick(t))
        elif action == "ack":
            alert_id = next(iter(ev.keys))
            result, events = ev.acknowledge(alert_id, arg, "on it", t)
            assert result == "ok"
            out.extend(events)
        elif action == "silence":
            ev.put_silence(arg)
        else:
            raise AssertionError(action)
    return out


def values(start: float, *vs: float, every: float = 1.0) -> list[Step]:
    return [(start + i * every, "v", v) for i, v in enumerate(vs)]


# --- durations and hysteresis ---------------------------------------------------------------


def test_a_breach_shorter_than_for_gives_nothing() -> None:
    ev = Evaluator([rule(warning=80, for_=5)])
    assert play(ev, values(0, 85, 90, 88, 86, 70, 50)) == []
    assert ev.states == {}


def test_a_sustained_breach_fires_once_at_for() -> None:
    ev = Evaluator([rule(warning=80, for_=5)])
    assert play(ev, values(0, 85, 85, 85, 85, 85, 85, 85, 85, 85)) == [(5.0, "firing", "warning")]


def test_for_zero_fires_on_the_crossing_sample() -> None:
    ev = Evaluator([rule(warning=80)])
    assert play(ev, values(0, 50, 81, 82)) == [(1.0, "firing", "warning")]


def test_flapping_inside_the_clear_band_gives_no_new_events() -> None:
    ev = Evaluator([rule(warning=80, clear=70, for_=2)])
    script = values(0, 85, 85, 85, 75, 82, 71, 79, 83, 72, 69)
    assert play(ev, script) == [(2.0, "firing", "warning"), (9.0, "resolved", "warning")]


def test_without_a_clear_level_every_crossing_counts() -> None:
    ev = Evaluator([rule(warning=80)])
    assert play(ev, values(0, 85, 79, 85)) == [
        (0.0, "firing", "warning"),
        (1.0, "resolved", "warning"),
        (2.0, "firing", "warning"),
    ]


def test_clear_for_waits_before_resolving() -> None:
    ev = Evaluator([rule(warning=80, clear_for=3)])
    script = values(0, 90, 50, 50, 90, 50, 50, 50, 50)
    assert play(ev, script) == [(0.0, "firing", "warning"), (7.0, "resolved", "warning")]


def test_warning_critical_warning_is_one_alert() -> None:
    ev = Evaluator([rule(warning=80, critical=90, clear=75, for_=2)])
    script = values(0, 85, 85, 85, 95, 95, 95, 84, 80, 70)
    events = play_events(ev, script)
    assert [(e.ts, e.event, e.severity) for e in events] == [
        (2.0, "firing", "warning"),
        (5.0, "severity_changed", "critical"),
        (6.0, "severity_changed", "warning"),
        (8.0, "resolved", "warning"),
    ]
    assert len({e.alert_id for e in events}) == 1
    assert len({e.id for e in events}) == 4
    assert [e.threshold for e in events] == [80.0, 90.0, 80.0, 80.0]


def test_critical_band_holds_critical() -> None:
    # Band 5: critical holds down to 85, warning down to 75.
    ev = Evaluator([rule(warning=80, critical=90, clear=75)])
    assert play(ev, values(0, 95, 87, 91, 84)) == [
        (0.0, "firing", "critical"),
        (3.0, "severity_changed", "warning"),
    ]


def test_a_breach_that_turns_critical_while_pending_fires_at_the_level_it_held() -> None:
    ev = Evaluator([rule(warning=80, critical=90, for_=3)])
    assert play(ev, values(0, 85, 85, 95, 95, 95, 95)) == [
        (3.0, "firing", "warning"),
        (5.0, "severity_changed", "critical"),
    ]


def test_below_rules_alarm_on_low_values() -> None:
    ev = Evaluator([rule(op="below", warning=20, critical=10, clear=25)])
    # Band 5: critical holds up to 15, warning up to 25.
    assert play(ev, values(0, 50, 15, 5, 17, 22, 30)) == [
        (1.0, "firing", "warning"),
        (2.0, "severity_changed", "critical"),
        (3.0, "severity_changed", "warning"),
        (5.0, "resolved", "warning"),
    ]


def test_replayed_and_out_of_order_samples_are_ignored() -> None:
    ev = Evaluator([rule(warning=80)])
    script = [(1.0, "v", 90), (0.5, "v", 10), (1.0, "v", 10), (2.0, "v", 10)]
    assert play(ev, script) == [(1.0, "firing", "warning"), (2.0, "resolved", "warning")]


def test_a_replay_from_saved_state_gives_the_same_event_ids() -> None:
    r = rule(warning=80, critical=90)
    first = Evaluator([r])
    original = play_events(first, values(0, 50, 85))
    saved, _ = first.take_changes()
    original += play_events(first, values(2, 95, 50))
    # A restart from the saved state sees the whole batch again (the 85 was already applied).
    again = Evaluator([r])
    assert again.load(saved, 2.0) == []
    replayed = play_events(again, values(1, 85, 95, 50))
    assert [e.event for e in original] == ["firing", "severity_changed", "resolved"]
    assert [e.id for e in replayed] == [e.id for e in original[1:]]


def test_after_a_restart_restored_series_get_a_grace_and_replayed_samples_count() -> None:
    r = rule("down", "check.up", kind="absence", missed=3, interval=10)
    a, b = ("h", "check.up{check=a}", 1), ("h", "check.up{check=b}", 1)
    first = Evaluator([r])
    play_events(first, [(0.0, "p", a), (0.0, "p", b)])
    saved, _ = first.take_changes()  # first sight is saved...
    play_events(first, [(100.0, "p", a), (100.0, "p", b)])
    assert first.take_changes() == ([], [])  # ...a last-seen time that moved is not
    again = Evaluator([r])
    again.load(saved, 105.0)
    # b's sample at 100 was read after the last acknowledgement, so the restart replays it;
    # a's was acknowledged: a counts as seen at the restart.
    script: list[Step] = [(100.0, "p", b), *[(float(t), "tick", None) for t in range(106, 140)]]
    events = play_events(again, script)
    assert [(e.ts, e.labels["check"], e.event) for e in events] == [
        (130.0, "b", "firing"),
        (135.0, "a", "firing"),
    ]


def test_a_restored_firing_alert_is_not_stale_at_once() -> None:
    r = rule(warning=80, stale_after=30)
    first = Evaluator([r])
    assert play(first, values(0, 90)) == [(0.0, "firing", "warning")]
    saved, _ = first.take_changes()
    again = Evaluator([r])
    again.load(saved, 1000.0)
    script = [(1010.0, "tick", None), (1020.0, "v", 91), (1049.0, "tick", None)]
    script += [(1051.0, "tick", None)]
    assert play(again, script) == [(1051.0, "resolved", "warning")]


def test_stale_series_resolve_after_stale_after() -> None:
    ev = Evaluator([rule(warning=80, stale_after=30)])
    script = [*values(0, 90, 90), (20.0, "tick", None), (31.0, "tick", None), (40, "tick", None)]
    assert play(ev, script) == [(0.0, "firing", "warning"), (31.0, "resolved", "warning")]


# --- reminders, acknowledgement, escalation ---------------------------------------------------


def test_reminders_follow_repeat_interval() -> None:
    ev = Evaluator([rule(warning=80, repeat=10)])
    script = [(0.0, "v", 90), *[(float(t), "tick", None) for t in range(1, 26)]]
    assert play(ev, script) == [
        (0.0, "firing", "warning"),
        (10.0, "reminder", "warning"),
        (20.0, "reminder", "warning"),
    ]


def test_escalation_ladder_fires_its_steps_on_time() -> None:
    ladder = [
        {"after": "1m", "receivers": ["oncall"]},
        {"after": "3m", "severity": "critical", "receivers": ["manager"]},
    ]
    ev = Evaluator([rule(warning=80, ladder=ladder)])
    script = [(0.0, "v", 90), *[(float(t), "tick", None) for t in range(30, 400, 30)]]
    events = play_events(ev, script)
    assert [(e.ts, e.event, e.severity, e.escalation_step, e.receivers) for e in events] == [
        (0.0, "firing", "warning", 0, []),
        (60.0, "escalated", "warning", 1, ["oncall"]),
        (180.0, "escalated", "critical", 2, ["manager", "oncall"]),
    ]


def test_ack_stops_reminders_and_escalation_and_resolve_is_still_sent() -> None:
    ladder = [{"after": 60, "severity": "critical"}]
    ev = Evaluator([rule(warning=80, ladder=ladder, repeat=20)])
    script: list[Step] = [(0.0, "v", 90), (20.0, "tick", None), (30.0, "ack", "ann")]
    script += [(float(t), "tick", None) for t in range(40, 200, 10)]
    script += [(200.0, "v", 10), (210.0, "v", 95)]
    events = play_events(ev, script)
    assert [(e.ts, e.event) for e in events] == [
        (0.0, "firing"),
        (20.0, "reminder"),
        (30.0, "acknowledged"),
        (200.0, "resolved"),
        (210.0, "firing"),
    ]
    ack, resolved, refired = events[2], events[3], events[4]
    assert (ack.acknowledged_by, ack.acknowledged_at, ack.comment) == ("ann", 30.0, "on it")
    assert resolved.acknowledged_by == "ann"
    assert refired.acknowledged_by == ""  # a new episode needs a new ack
    assert refired.alert_id == ack.alert_id
    assert refired.id != events[0].id


def test_ack_of_unknown_or_pending_alert_is_refused() -> None:
    ev = Evaluator([rule(warning=80, for_=10)])
    assert ev.acknowledge("nope", "ann", "", 0.0) == ("unknown", [])
    play(ev, values(0, 90))
    alert_id = next(iter(ev.keys))
    assert ev.acknowledge(alert_id, "ann", "", 1.0) == ("not_firing", [])


# --- silences ------------------------------------------------------------------------------


def silence(start: float, end: float, *matchers: tuple[str, str, str]) -> Silence:
    return Silence(
        id=f"s{start}",
        matchers=[control.Matcher(name=n, op=o, value=v) for n, o, v in matchers],
        starts_at=start,
        ends_at=end,
        created_by="ann",
        created_at=start,
    )


def test_silence_mutes_and_its_expiry_unmutes() -> None:
    ev = Evaluator([rule(warning=80, critical=90, repeat=15)])
    s = silence(10.0, 50.0, ("host", "=", "h"), ("rule", "=~", "r|x"))
    script: list[Step] = [(0.0, "v", 85), (5.0, "silence", s)]
    script += [(float(t), "tick", None) for t in range(5, 70, 5)]
    script += [(30.0 + 0.5, "v", 95)]
    script.sort(key=lambda step: step[0])
    events = play_events(ev, script)
    assert [(e.ts, e.event, e.severity, e.silence_id) for e in events] == [
        (0.0, "firing", "warning", ""),
        (10.0, "silenced", "warning", "s10.0"),
        (50.0, "unsilenced", "critical", ""),
        (65.0, "reminder", "critical", ""),
    ]


def test_an_alert_that_fires_while_silenced_is_announced_as_silenced() -> None:
    ev = Evaluator([rule(warning=80)])
    script: list[Step] = [(0.0, "silence", silence(0, 100, ("rule", "=", "r")))]
    script += [(1.0, "v", 90), (2.0, "tick", None), (3.0, "v", 10)]
    events = play_events(ev, script)
    assert [(e.ts, e.event, e.silence_id) for e in events] == [
        (1.0, "silenced", "s0"),
        (3.0, "resolved", "s0"),
    ]


def test_a_silence_that_does_not_match_leaves_the_alert_alone() -> None:
    ev = Evaluator([rule(warning=80)])
    script: list[Step] = [(0.0, "silence", silence(0, 100, ("host", "!~", "h.*")))]
    script += [(1.0, "v", 90), (2.0, "tick", None)]
    assert play(ev, script) == [(1.0, "firing", "warning")]


# --- inhibition ----------------------------------------------------------------------------


def h100_sample(h100_fixtures: Path, host: str, ts: float, **changes: Any) -> MetricSample:
    """A metrics sample holding the recorded GPU host's loaded values."""
    rec = json.loads((h100_fixtures / "nvml-psutil-loaded.json").read_text())
    ps, gpu = rec["psutil"], rec["gpus"][0]
    vm = ps["vm"]
    cores = ps["cpu_percent_percpu"]
    sample = MetricSample(
        ts=ts,
        host=host,
        seq=int(ts),
        interval=1.0,
        cpu=Cpu(percent=sum(cores) / len(cores), count=len(cores)),
        memory=Memory(
            total=vm["total"], used=vm["used"], available=vm["available"], percent=vm["percent"]
        ),
        disks=[DiskUsage(mount="/", total=100, used=40, free=60, percent=40.0)],
        gpus=[
            Gpu(
                index=0,
                name=gpu["name"],
                utilization=float(gpu["utilization"]["gpu"]),
                memory_used=gpu["memory"]["used"],
                memory_total=gpu["memory"]["total"],
                temperature=float(gpu["temperature"]),
            )
        ],
    )
    for field, value in changes.items():
        setattr(sample, field, value)
    return sample


def test_host_down_inhibits_that_hosts_other_alerts(h100_fixtures: Path) -> None:
    strict_down = RuleSettings(name="host_down", kind="absence", metric="host", missed=3)
    settings = AlerterSettings(
        rules=[RuleSettings(name="gpu_busy", metric="gpu.utilization", warning=95), strict_down]
    )
    from vitals_alerter.rules import compile_rules

    ev = Evaluator(compile_rules(settings), compile_inhibit(settings))
    script: list[Step] = [
        (float(t), "event", h100_sample(h100_fixtures, "gpu1", t)) for t in (0, 1)
    ]
    script += [
        (float(t), "event", h100_sample(h100_fixtures, "gpu2", t)) for t in (0, 1, 2, 3, 4, 5)
    ]
    script += [(float(t), "tick", None) for t in (2, 3, 4, 5)]
    script += [(6.0, "event", h100_sample(h100_fixtures, "gpu1", 6.0))]
    script.sort(key=lambda step: (step[0], step[1] != "event"))
    events = play_events(ev, script)
    seen = [(e.ts, e.host, e.rule, e.event) for e in events]
    down = next(e for e in events if e.rule == "host_down")
    assert seen == [
        (0.0, "gpu1", "gpu_busy", "firing"),  # the recorded GPU runs at 99 %
        (0.0, "gpu2", "gpu_busy", "firing"),
        (4.0, "gpu1", "host_down", "firing"),  # 3 missed 1 s intervals after t=1
        (4.0, "gpu1", "gpu_busy", "silenced"),
        (6.0, "gpu1", "host_down", "resolved"),
    ]
    silenced = events[3]
    assert silenced.inhibited_by == down.alert_id
    assert silenced.silence_id == ""
    # Back up: the inhibitor is gone, so the next tick makes the GPU alert audible again.
    assert [(e.host, e.event) for e in ev.tick(7.0)] == [("gpu1", "unsilenced")]


def test_critical_inhibits_the_warning_of_the_same_rule() -> None:
    ev = Evaluator(
        [rule("disk", "disk.percent", warning=90, critical=95)], compile_inhibit(AlerterSettings())
    )
    script: list[Step] = [
        (0.0, "p", ("h", "disk.percent{mount=/data}", 91)),
        (1.0, "p", ("h", "disk.percent{mount=/}", 97)),
        (1.0, "p", ("other", "disk.percent{mount=/}", 92)),
        (2.0, "tick", None),
        (3.0, "p", ("h", "disk.percent{mount=/}", 50)),
        (4.0, "tick", None),
    ]
    events = play_events(ev, script)
    assert [(e.ts, e.host, e.labels["mount"], e.event, e.severity) for e in events] == [
        (0.0, "h", "/data", "firing", "warning"),
        (1.0, "h", "/", "firing", "critical"),
        (1.0, "other", "/", "firing", "warning"),
        (2.0, "h", "/data", "silenced", "warning"),
        (3.0, "h", "/", "resolved", "critical"),
        (4.0, "h", "/data", "unsilenced", "warning"),
    ]


# --- absence, forecast, rate ------------------------------------------------------------------


def test_absence_fires_after_missed_intervals_and_resolves_on_return() -> None:
    ev = Evaluator([rule("down", "check.up", kind="absence", missed=3)])
    script: list[Step] = [(float(t), "p", ("h", "check.up{check=db}", 1)) for t in (0, 10, 20)]
    script += [(float(t), "tick", None) for t in range(21, 60)]
    script += [(60.0, "p", ("h", "check.up{check=db}", 1))]
    events = play_events(ev, script)
    # Interval learnt from the gaps (10 s): down at 20 + 3 * 10.
    assert [(e.ts, e.event, e.severity, e.labels.get("check")) for e in events] == [
        (50.0, "firing", "critical", "db"),
        (60.0, "resolved", "critical", "db"),
    ]
    assert events[0].started_at == 50.0
    assert events[0].value == 30.0


def test_absence_uses_the_interval_the_host_announces(h100_fixtures: Path) -> None:
    settings = AlerterSettings()
    from vitals_alerter.rules import compile_rules

    ev = Evaluator(compile_rules(settings), compile_inhibit(settings))
    slow = h100_sample(h100_fixtures, "n1", 0.0, interval=5.0)
    # 3 missed 5 s intervals, then the built-in's 15 s more.
    events = play_events(ev, [(0.0, "event", slow), (29.0, "tick", None), (30.0, "tick", None)])
    assert [(e.ts, e.rule, e.event) for e in events if e.rule == "host_down"] == [
        (30.0, "host_down", "firing")
    ]


@pytest.mark.parametrize(
    ("slope_per_s", "expected_fire_at"),
    [
        # disk at 50 % rising 0.01 %/s: reaches 95 % at t=4500. With a 3,600 s warning
        # horizon it fires once the ETA drops to 3,600 s: t = 900.
        (0.01, 900.0),
        (0.02, 0.0),  # ETA 2,250 s from the start: fires as soon as the window can fit
    ],
)
def test_forecast_fires_when_the_level_is_reached_within_the_horizon(
    slope_per_s: float, expected_fire_at: float
) -> None:
    r = rule(
        "fill", "disk.percent", kind="forecast", level=95, warning="1h", window="10m", points=20
    )
    ev = Evaluator([r])
    disk = "disk.percent{mount=/}"
    script: list[Step] = [
        (float(t), "p", ("h", disk, 50 + slope_per_s * t)) for t in range(0, 1500, 10)
    ]
    events = play_events(ev, script)
    first_fit = 30.0 * (20 // 3 - 1)  # a third of the slots filled, one point per 30 s
    assert events, "the forecast never fired"
    assert events[0].event == "firing"
    assert events[0].ts == pytest.approx(max(expected_fire_at, first_fit), abs=30.0)
    eta = events[0].value
    assert eta is not None
    assert eta == pytest.approx((95 - 50 - slope_per_s * events[0].ts) / slope_per_s, rel=1e-6)
    assert "reaches 95" in events[0].summary


def test_forecast_stays_quiet_on_a_flat_or_falling_series() -> None:
    r = rule("fill", "disk.percent", kind="forecast", level=95, warning="6h", window="10m")
    ev = Evaluator([r])
    disk = "disk.percent{mount=/}"
    script: list[Step] = [
        (float(t), "p", ("h", disk, 60 + (t % 7) * 0.1 - t * 0.001)) for t in range(0, 2000, 10)
    ]
    assert play(ev, script) == []


def test_rate_rule_fires_on_growth_faster_than_its_level() -> None:
    # Queue grows 2/s for 5 minutes (120 per minute), then stays flat.
    r = rule("queue_growth", "app.queue_size", kind="rate", warning=100, window="2m", points=12)
    ev = Evaluator([r])
    series = "app.queue_size{app=whisper}"
    script: list[Step] = [(float(t), "p", ("h", series, 2.0 * t)) for t in range(0, 300, 5)]
    script += [(float(t), "p", ("h", series, 600.0)) for t in range(300, 600, 5)]
    events = play_events(ev, script)
    assert [(e.event, e.labels["app"]) for e in events] == [
        ("firing", "whisper"),
        ("resolved", "whisper"),
    ]
    assert events[0].value == pytest.approx(120.0)
    assert events[0].ts == 30.0  # the fit needs 4 of 12 slots: t = 0, 10, 20, 30
    assert 300.0 < events[1].ts <= 420.0


def test_a_restart_resolves_the_alerts_of_a_rule_that_was_removed() -> None:
    first = Evaluator([rule("old", warning=80), rule("kept", warning=80)])
    play(first, values(0, 90))
    saved, _ = first.take_changes()
    again = Evaluator([rule("kept", warning=80)])
    resolved = again.load(saved, 5.0)
    assert [(e.rule, e.event, e.ts) for e in resolved] == [("old", "resolved", 5.0)]
    assert [s.rule for s in again.states.values()] == ["kept"]
    assert again.take_changes()[1] == [resolved[0].alert_id]


def test_steps_that_fall_due_while_silenced_are_announced_once_at_the_highest() -> None:
    ladder = [{"after": 10, "receivers": ["a"]}, {"after": 20, "receivers": ["b"]}]
    ev = Evaluator([rule(warning=80, ladder=ladder)])
    script: list[Step] = [(0.0, "silence", silence(0, 30, ("rule", "=", "r"))), (0.0, "v", 90)]
    script += [(float(t), "tick", None) for t in range(5, 40, 5)]
    events = play_events(ev, script)
    assert [(e.ts, e.event, e.escalation_step, e.receivers) for e in events] == [
        (0.0, "silenced", 0, []),
        (30.0, "unsilenced", 0, []),
        (30.0, "escalated", 2, ["a", "b"]),
    ]
