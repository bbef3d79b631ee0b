from __future__ import annotations

from pathlib import Path

import pytest

from vitals_core.config import ConfigError, load_settings


def test_analytics_settings_from_the_environment() -> None:
    s = load_settings(path="/dev/null", env={"VITALS_ANALYTICS_QUEUE_LIMIT": "500"})
    assert s.analytics.queue_limit == 500.0
    assert [g.name for g in s.analytics.components][:3] == ["vitals", "redis", "nats"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VITALS_ANALYTICS_DISK_LIMIT": "150"}, "disk_limit must be a percentage"),
        ({"VITALS_ANALYTICS_ANOMALY_THRESHOLD": "1"}, "anomaly_threshold must be at least 2"),
        ({"VITALS_ANALYTICS_DOWN_AFTER": "soon"}, "Config 'analytics.down_after'"),
    ],
)
def test_bad_analytics_settings_name_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(path="/dev/null", env=env)


def test_component_groups_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "vitals.toml"
    path.write_text(
        '[[analytics.components]]\nname = "transcriber"\npatterns = ["cmdline:*transcribe*"]\n'
    )
    s = load_settings(path=path, env={})
    assert [g.name for g in s.analytics.components] == ["transcriber"]
    path.write_text('[[analytics.components]]\nname = "x"\npatterns = []\n')
    with pytest.raises(ConfigError, match="needs at least one pattern"):
        load_settings(path=path, env={})
