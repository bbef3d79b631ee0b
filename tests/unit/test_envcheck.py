"""Unknown VITALS_* variables are named at start, with the nearest known one."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vitals_core import envcheck, runtime
from vitals_core.settings import Settings


@pytest.mark.parametrize(
    ("variable", "nearest"),
    [
        ("VITALS_AGENT_INTERVALL", "VITALS_AGENT_INTERVAL"),
        ("VITALS_NATS_ULR", "VITALS_NATS_URL"),
        ("VITALS_HTTP_PROT", "VITALS_HTTP_PORT"),
        ("VITALS_WEBHOOK_SECERT", "VITALS_WEBHOOK_SECRET"),
        ("VITALS_ADMIN_PASWORD", "VITALS_ADMIN_PASSWORD"),
        ("VITALS_ALERTER_PARTITON", "VITALS_ALERTER_PARTITION"),
        ("VITALS_ZZZZZZZZZZZZZZZZZZZZZ", ""),
    ],
)
def test_unknown_variables_are_named_with_the_nearest(variable: str, nearest: str) -> None:
    assert envcheck.unknown_variables({variable: "3", "PATH": "/bin"}) == [(variable, nearest)]


@pytest.mark.parametrize(
    "variable",
    [
        "VITALS_CONFIG",
        "VITALS_AGENT_INTERVAL",
        "VITALS_NATS_URL",
        "VITALS_DATA_DIR",
        "VITALS_ADMIN_PASSWORD",
        "VITALS_LOG_LEVEL",
        "VITALS_WEBHOOK_URL",
        "VITALS_WEBHOOK_SECRET",
        "VITALS_SMTP_URL",
        "VITALS_ALERT_EMAIL_TO",
        "VITALS_NOTIFY_ALLOW_PRIVATE",
        "VITALS_NOTIFIER_GROUP_WAIT",
        "VITALS_GATEWAY_WS_QUEUE",
        "VITALS_AUTH_JWT_SECRET",
        "VITALS_ANALYTICS_DOWN_AFTER",
        "VITALS_TEST_NO_DOCKER",
        "VITALS_TEST_ANYTHING",
        "VITALS_BENCH_HOSTS",
        "VITALS_DEMO",
        "VITALS_DEMO_SPEED",
        "VITALS_DASHBOARD_DIST",
        "VITALS_DEPLOY_DIR",
        "VITALS_CHROMIUM",
        "VITALS_URL",
        "VITALS_PYTHON",
        "PERFORMANCE_MONITORING_ENABLED",
        "HOME",
    ],
)
def test_known_and_foreign_variables_pass_silently(variable: str) -> None:
    assert envcheck.unknown_variables({variable: "1"}) == []


def test_one_warning_line_per_variable(caplog: pytest.LogCaptureFixture) -> None:
    env = {"VITALS_AGENT_INTERVALL": "3", "VITALS_NATS_ULR": "x", "VITALS_NATS_URL": "y"}
    with caplog.at_level(logging.WARNING):
        assert envcheck.warn_unknown(env, logging.getLogger("test.env")) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "environment variable VITALS_AGENT_INTERVALL is not a setting and is ignored "
        "(did you mean VITALS_AGENT_INTERVAL?)",
        "environment variable VITALS_NATS_ULR is not a setting and is ignored "
        "(did you mean VITALS_NATS_URL?)",
    ]


def test_a_service_warns_at_start(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("VITALS_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    monkeypatch.setenv("VITALS_AGENT_INTERVALL", "3")

    async def main(settings: Settings, stop: asyncio.Event) -> None:
        return None

    try:
        assert runtime.run_service("probe", main) == runtime.EXIT_OK
    finally:
        logging.getLogger().handlers.clear()
    err = capfd.readouterr().err
    assert "VITALS_AGENT_INTERVALL is not a setting" in err
    assert "did you mean VITALS_AGENT_INTERVAL?" in err


def test_vitals_up_warns_before_anything_else(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env |= {"VITALS_CONFIG": str(tmp_path / "missing.toml"), "VITALS_HTTP_PROT": "9"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "vitals"), "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2  # the missing file stops it right after the warning
    assert "VITALS_HTTP_PROT is not a setting" in done.stderr
    assert "did you mean VITALS_HTTP_PORT?" in done.stderr
