from __future__ import annotations

from pathlib import Path

import pytest

from vitals_core.config import ConfigError, load_settings


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(path=None, env={})
    assert settings.http.port == 8000
    assert settings.http.host == "127.0.0.1"
    assert settings.agent.interval == 5.0
    assert settings.data_dir == ".vitals"


def test_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "vitals.toml"
    config.write_text('[agent]\ninterval = 10\nlabels = { role = "api" }\n[http]\nport = 9000\n')
    settings = load_settings(env={"VITALS_CONFIG": str(config), "VITALS_HTTP_PORT": "9100"})
    assert settings.agent.interval == 10.0
    assert settings.agent.labels == {"role": "api"}
    assert settings.http.port == 9100


@pytest.mark.parametrize(
    ("env", "attr", "expected"),
    [
        ({"METRICS_COLLECTION_INTERVAL": "30"}, ("agent", "interval"), 30.0),
        ({"PERFORMANCE_MONITORING_ENABLED": "false"}, ("agent", "enabled"), False),
        ({"ALERT_THRESHOLDS_CPU": "70"}, ("alerter", "cpu_warning"), 70.0),
        ({"ALERT_THRESHOLDS_MEMORY": "75.5"}, ("alerter", "memory_warning"), 75.5),
        ({"ALERT_THRESHOLDS_DISK": "80"}, ("alerter", "disk_warning"), 80.0),
        ({"CACHE_METRICS_TIMEOUT": "12"}, ("gateway", "cache_ttl"), 12.0),
        ({"VITALS_DATA_DIR": "/var/lib/vitals"}, ("data_dir",), "/var/lib/vitals"),
        ({"VITALS_NATS_URL": "nats://n:4222"}, ("nats", "url"), "nats://n:4222"),
        (
            {"VITALS_ALERT_EMAIL_TO": "a@x.io, b@x.io"},
            ("notifier", "email_to"),
            ["a@x.io", "b@x.io"],
        ),
        (
            {"VITALS_NOTIFY_ALLOW_PRIVATE": "127.0.0.1,10.0.0.0/8"},
            ("notifier", "allow_private"),
            ["127.0.0.1", "10.0.0.0/8"],
        ),
        (
            {"VITALS_AGENT_LABELS": "role=worker,env=prod"},
            ("agent", "labels"),
            {"role": "worker", "env": "prod"},
        ),
        # The explicit name wins over the seed's alias.
        (
            {"METRICS_COLLECTION_INTERVAL": "30", "VITALS_AGENT_INTERVAL": "2"},
            ("agent", "interval"),
            2.0,
        ),
    ],
)
def test_environment_names(env: dict[str, str], attr: tuple[str, ...], expected: object) -> None:
    value: object = load_settings(env=env)
    for part in attr:
        value = getattr(value, part)
    assert value == expected


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        (
            {"VITALS_HTTP_PORT": "eighty"},
            "",
            "Config 'http.port' (from VITALS_HTTP_PORT) is invalid: Expected `int`",
        ),
        ({"METRICS_COLLECTION_INTERVAL": "0.1"}, "", "interval must be between 1 and 3600 seconds"),
        ({}, "[agent]\nintervall = 5\n", "unknown field `intervall`"),
        ({}, "[agnet]\n", "unknown field `agnet`"),
        ({}, "[agent\n", "is not valid TOML"),
        ({"VITALS_WEBHOOK_SECRET": "hunter2"}, "", "webhook_secret must be a 'whsec_' secret"),
        ({}, '[auth]\njwt_secret = "short"\n', "jwt_secret must be at least 32 bytes"),
        ({}, '[gateway]\ncors_origins = ["*"]\n', "cors_origins must list origins"),
    ],
)
def test_bad_values_name_the_setting(
    tmp_path: Path, env: dict[str, str], toml: str, message: str
) -> None:
    config = tmp_path / "vitals.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(env={"VITALS_CONFIG": str(config), **env})
    assert message in str(err.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env={"VITALS_CONFIG": str(tmp_path / "missing.toml")})
