"""Rules, settings, matchers, silences, partitions and annotations: tables of cases."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

import pytest

from vitals_alerter.alerts import AlertState, annotate, human, new_state
from vitals_alerter.engine import level_of
from vitals_alerter.partition import PARTITIONS, partition_of, reply_position, subject_host
from vitals_alerter.rules import Matcher, compile_rule, compile_rules
from vitals_alerter.silences import create
from vitals_core import control
from vitals_core.config import ConfigError, load_settings
from vitals_core.settings.alerter import RuleSettings, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(30, 30.0), (1.5, 1.5), ("90s", 90.0), ("5m", 300.0), ("6h", 21600.0), ("2d", 172800.0),
     ("250ms", 0.25), ("1w", 604800.0), (" 10 ", 10.0), ("0", 0.0)],
)  # fmt: skip
def test_durations(text: float | str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5 minutes", "-1", "1y", ""])
def test_bad_durations_name_the_setting(text: str) -> None:
    with pytest.raises(ValueError, match="window"):
        parse_duration(text, "window")


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("host=web-1", {"host": "web-1"}, True),
        ("host=web-1", {"host": "web-10"}, False),
        ("host!=web-1", {"host": "web-2"}, True),
        ("host=~web-.*", {"host": "web-10"}, True),
        ("host=~web", {"host": "web-10"}, False),  # anchored
        ("host!~gpu-.*", {"host": "web-1"}, True),
        ("mount=/", {}, False),
        ("mount!=/", {}, True),
        ('mount="/data"', {"mount": "/data"}, True),
    ],
)
def test_matchers(text: str, labels: dict[str, str], expected: bool) -> None:
    assert Matcher.parse(text).matches(labels) is expected


def levels(**kw: Any) -> Any:
    return compile_rule(RuleSettings(name="r", metric="m", **kw), {}, 0.0)


@pytest.mark.parametrize(
    ("kw", "value", "held", "expected"),
    [
        ({"warning": 80, "critical": 90}, 79.9, None, None),
        ({"warning": 80, "critical": 90}, 80, None, "warning"),
        ({"warning": 80, "critical": 90}, 90, None, "critical"),
        ({"warning": 80, "critical": 90, "clear": 70}, 75, None, None),
        ({"warning": 80, "critical": 90, "clear": 70}, 75, "warning", "warning"),
        ({"warning": 80, "critical": 90, "clear": 70}, 69.9, "warning", None),
        ({"warning": 80, "critical": 90, "clear": 70}, 81, "critical", "critical"),  # band 10
        ({"warning": 80, "critical": 90, "clear": 70}, 79, "critical", "warning"),
        ({"critical": 90, "clear": 85}, 86, "critical", "critical"),
        ({"critical": 90, "clear": 85}, 84, "critical", None),
        ({"op": "below", "warning": 20, "critical": 10}, 15, None, "warning"),
        ({"op": "below", "warning": 20, "critical": 10}, 10, None, "critical"),
        ({"op": "below", "warning": 20, "critical": 10, "clear": 30}, 25, "warning", "warning"),
    ],
)
def test_level_of(kw: dict[str, Any], value: float, held: str | None, expected: str | None) -> None:
    assert level_of(levels(**kw), value, held) == expected  # type: ignore[arg-type]


def settings_from(tmp_path: Path, toml: str, env: dict[str, str] | None = None) -> Any:
    path = tmp_path / "vitals.toml"
    path.write_text(toml)
    return load_settings(path, env=env or {})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[alerter.rules]]\nname = "x"\nwarning = 1', "needs a metric"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "cpu.percent"', "needs a warning or a critical"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 1\nthreshold = 2', "threshold"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 90\ncritical = 80',
         "critical must not be less severe"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 80\nclear = 85', "safe side"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 1\nfor = "soon"', "'for'"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 1\nselect = ["host=~("]',
         "bad regex"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m{a=b}"\nwarning = 1', "use select"),
        ('[[alerter.rules]]\nname = "x"\nkind = "forecast"\nmetric = "m"\nwarning = "6h"\n'
         'window = "1h"', "level it predicts"),
        ('[[alerter.rules]]\nname = "x"\nkind = "rate"\nmetric = "m"\nwarning = 5', "window"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 1\nsummary = "{value"',
         "not a usable template"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 1\nescalation = "pager"',
         "escalation 'pager', which is not defined"),
        ('[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 1\n'
         '[[alerter.rules]]\nname = "x"\nmetric = "m"\nwarning = 2', "defined twice"),
        ('[[alerter.escalations]]\nname = "p"\nsteps = [{after = "10m"}]', "changes nothing"),
        ('[[alerter.escalations]]\nname = "p"\nsteps = [{after = "10m", receivers = ["a"]},'
         ' {after = "5m", receivers = ["b"]}]', "must come after"),
        ("[alerter]\npartitions = 2\npartition = 2", "partition must be between"),
        ('[[alerter.inhibit]]\nsource = ["rule=x"]\ntarget = ["bad matcher"]', "must read"),
    ],
)  # fmt: skip
def test_bad_rules_stop_the_start_with_a_clear_message(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(ConfigError, match="alerter") as info:
        settings_from(tmp_path, toml)
    assert message in str(info.value)


def test_seed_thresholds_set_the_builtin_warning_levels(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path, "", {"ALERT_THRESHOLDS_CPU": "70", "ALERT_THRESHOLDS_DISK": "97"}
    )
    rules = {r.name: r for r in compile_rules(settings.alerter)}
    assert (rules["cpu_high"].warning, rules["cpu_high"].critical) == (70.0, 90.0)
    assert (rules["disk_full"].warning, rules["disk_full"].critical) == (97.0, 97.0)
    assert (rules["memory_high"].warning, rules["memory_high"].critical) == (85.0, 95.0)


def test_builtin_rules_match_the_seed() -> None:
    from vitals_core.settings import AlerterSettings

    rules = {r.name: r for r in compile_rules(AlerterSettings())}
    expected = {
        "cpu_high": ("cpu.percent", 80.0, 90.0),
        "memory_high": ("memory.percent", 85.0, 95.0),
        "disk_full": ("disk.percent", 90.0, 95.0),
        "response_time_high": ("app.response_ms.p95", 2000.0, None),
        "error_rate_high": ("app.error_rate", 0.05, None),
        "queue_size_high": ("app.queue_size", 1000.0, None),
        "check_failed": ("check.up", None, 0.0),
    }
    for name, (metric, warning, critical) in expected.items():
        assert (rules[name].metric, rules[name].warning, rules[name].critical) == (
            metric,
            warning,
            critical,
        )
    assert (rules["host_down"].kind, rules["host_down"].missed) == ("absence", 3)
    # Longer than a NATS node's failover (docs/cluster.md): that is not a host down.
    assert rules["host_down"].for_s == 15.0
    assert all(r.builtin for r in rules.values())


def test_a_configured_rule_replaces_a_builtin_by_name_or_switches_it_off(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        '[[alerter.rules]]\nname = "cpu_high"\nmetric = "cpu.percent"\nwarning = 50\n'
        '[[alerter.rules]]\nname = "host_down"\nmetric = "host"\nkind = "absence"\n'
        "enabled = false\n"
        '[[alerter.rules]]\nname = "gpu_hot"\nmetric = "gpu.temperature"\nwarning = 85\n',
    )
    rules = {r.name: r for r in compile_rules(settings.alerter)}
    assert "host_down" not in rules
    assert (rules["cpu_high"].warning, rules["cpu_high"].critical) == (50.0, None)
    assert not rules["cpu_high"].builtin
    assert rules["gpu_hot"].warning == 85.0
    assert rules["memory_high"].builtin


@pytest.mark.parametrize(
    ("request_kw", "message"),
    [
        ({"matchers": []}, "at least one matcher"),
        ({"matchers": [control.Matcher(name="", value="x")]}, "label name"),
        ({"matchers": [control.Matcher(name="h", value="(", op="=~")]}, "bad regex"),
        ({"ends_at": 50.0}, "after starts_at"),
        ({"starts_at": 0.0, "ends_at": 50.0}, "in the past"),
        ({"by": ""}, "by (who"),
    ],
)
def test_silence_requests_are_checked(request_kw: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "matchers": [control.Matcher(name="host", value="web-1")],
        "starts_at": 100.0,
        "ends_at": 200.0,
        "by": "ann",
    }
    with pytest.raises(ValueError, match=re.escape(message)):
        create(control.CreateSilence(**(base | request_kw)), "id", now=60.0)


def test_partitions_are_stable_and_cover_the_host_space() -> None:
    hosts = [f"host-{i}" for i in range(400)]
    parts = [partition_of(h) for h in hosts]
    assert parts == [partition_of(h) for h in hosts]
    assert set(parts) == set(range(PARTITIONS))
    assert partition_of("web-1") == zlib.crc32(b"web-1") % PARTITIONS


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("$JS.ACK.VITALS_TELEMETRY.c.1.42.40.1764186000123456789.7", (42, 1764186000.1234567, 7)),
        ("$JS.ACK.dom.hash.VITALS_TELEMETRY.c.1.42.40.1764186000000000000.0.rnd",
         (42, 1764186000.0, 0)),
    ],
)  # fmt: skip
def test_reply_position(reply: str, expected: tuple[int, float, int]) -> None:
    seq, ts, pending = reply_position(reply)
    assert (seq, pending) == (expected[0], expected[2])
    assert ts == pytest.approx(expected[1])


def test_reply_position_rejects_other_subjects() -> None:
    with pytest.raises(ValueError, match="not a JetStream"):
        reply_position("_INBOX.abc")
    assert subject_host("vitals.health.web-1.db") == "web-1"
    assert subject_host("vitals") == ""


def firing(rule: Any, series: str, value: float) -> AlertState:
    state = new_state(rule, "web-1", series)
    state.status, state.severity, state.value, state.last_seen = "firing", "warning", value, 40.0
    return state


@pytest.mark.parametrize(
    ("kw", "series", "value", "summary", "description"),
    [
        ({"warning": 90}, "disk.percent{mount=/}", 93.25, "r: disk.percent{mount=/} 93.25 on web-1",
         "disk.percent{mount=/} on web-1 is 93.25, above the warning level 90."),
        ({"warning": 90, "summary": "Disk {mount} {value:.0f}% on {host}"},
         "disk.percent{mount=/data}", 93.6, "Disk /data 94% on web-1", None),
        ({"warning": 90, "summary": "{nope}{value:.1f}"}, "m", 91.0, "91.0", None),
        ({"warning": 90, "summary": "{mount:.1f}"}, "m{mount=/}", 91.0, "{mount:.1f}", None),
        ({"kind": "forecast", "level": 95, "window": "1h", "warning": "6h"},
         "disk.percent{mount=/}", 4.5 * 3600,
         "r: disk.percent{mount=/} reaches 95 in 4.5h on web-1",
         "At its trend over the last 1h, disk.percent{mount=/} on web-1 reaches 95 in about 4.5h."),
        ({"kind": "absence"}, "host", 12.0, "r: metrics silent on web-1",
         "No metrics from web-1 for 20s (3 missed intervals)."),
    ],
)  # fmt: skip
def test_annotations(
    kw: dict[str, Any], series: str, value: float, summary: str, description: str | None
) -> None:
    rule = levels(**kw)
    got = annotate(rule, firing(rule, series, value), "warning", now=60.0)
    assert got[0] == summary
    if description is not None:
        assert got[1] == description


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (90, "1.5m"), (600, "10m"), (5400, "1.5h"), (86400, "1d"), (None, "never")],
)
def test_human_durations(seconds: float | None, text: str) -> None:
    assert human(seconds) == text
