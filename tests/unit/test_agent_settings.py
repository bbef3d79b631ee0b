"""Agent settings: a bad check, scrape or bound stops the agent at start with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitals_agent.service import lane_limits
from vitals_core.config import ConfigError, load_settings


def load(tmp_path: Path, toml: str, env: dict[str, str] | None = None) -> object:
    path = tmp_path / "vitals.toml"
    path.write_text(toml)
    return load_settings(path, env=env or {})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[agent.checks]]\nname="web"\nkind="tcp"\ntarget="localhost"',
            "target must be host:port",
        ),
        ('[[agent.checks]]\nname="a.b"\nkind="tcp"\ntarget="h:1"', "is not usable in a subject"),
        ('[[agent.checks]]\nname="w"\nkind="http"\ntarget="ftp://x"', "http:// or https:// URL"),
        ('[[agent.checks]]\nname="w"\nkind="process"', "give a process name as target"),
        ('[[agent.checks]]\nname="w"\nkind="command"\ntarget="echo \'x"', "not a valid command"),
        ('[[agent.checks]]\nname="w"\nkind="redis"\ntarget="http://x"', "redis://host:port"),
        ('[[agent.checks]]\nname="w"\nkind="sql"\ntarget=""', "target is empty"),
        (
            '[[agent.checks]]\nname="w"\nkind="tcp"\ntarget="h:1"\ninterval=5\ntimeout=10',
            "timeout must not exceed interval",
        ),
        (
            '[[agent.checks]]\nname="w"\nkind="tcp"\ntarget="h:1"\n'
            '[[agent.checks]]\nname="w"\nkind="tcp"\ntarget="h:2"',
            "repeated: w",
        ),
        ('[[agent.checks]]\nname="w"\nkind="ping"\ntarget="h"', "Invalid enum value 'ping'"),
        ('[[agent.scrape]]\napp="web"\nurl="http://h/metrics"', "series is empty"),
        ('[[agent.scrape]]\napp="web"\nurl="h:9/metrics"\nseries={x="y"}', "http:// or https://"),
        (
            '[[agent.scrape]]\napp="web"\nurl="http://h/m"\nseries={x="bad name"}',
            "series target 'bad name'",
        ),
        ("[agent]\ninterval=0.5", "interval must be between 1 and 3600"),
        ("[agent]\nconnection_state=true", "unknown field `connection_state`"),
    ],
)
def test_bad_agent_settings(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match="agent") as err:
        load(tmp_path, toml)
    assert message in str(err.value)


def test_good_settings_and_buffer_bounds(tmp_path: Path) -> None:
    path = tmp_path / "vitals.toml"
    path.write_text(
        "[agent]\ninterval=2\nbuffer_seconds=600\n"
        '[[agent.checks]]\nname="db"\nkind="sql"\ntarget="sqlite:///var/app.db"\ninterval=10\n'
        '[[agent.checks]]\nname="web"\nkind="http"\ntarget="https://x/health"\ninterval=30\n'
        '[[agent.scrape]]\napp="api"\nurl="http://127.0.0.1:9000/metrics"\ninterval=15\n'
        'series={"jobs_total" = "jobs_completed"}\n'
    )
    settings = load_settings(path, env={"VITALS_AGENT_TOP_N": "25"})
    assert settings.agent.top_n == 25
    assert lane_limits(settings) == {"metrics": 300, "info": 4, "health": 80, "app": 40}
