"""The `vitals` command: services start without the argument parser, the rest parse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def vitals(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALS_")}
    env["VITALS_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "vitals.cli", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("service", ["agent", "gateway", "alerter", "notifier"])
def test_a_service_starts_straight_away_and_checks_its_config(service: str, tmp_path: Path) -> None:
    config = tmp_path / "vitals.toml"
    config.write_text("[agent]\ninterval = -1\n")
    done = vitals(service, config=config)
    assert done.returncode == 2
    assert f"vitals {service}:" in done.stderr
    assert "interval" in done.stderr


def test_other_commands_parse_their_arguments(tmp_path: Path) -> None:
    config = tmp_path / "vitals.toml"
    config.write_text("")
    assert vitals("--help", config=config).stdout.startswith("usage: vitals")
    bad = vitals("agent", "--no-such-flag", config=config)
    assert bad.returncode == 2
    assert "unrecognized arguments" in bad.stderr
