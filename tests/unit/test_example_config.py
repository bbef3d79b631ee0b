"""The example configuration in the repository loads as it is."""

from __future__ import annotations

from pathlib import Path

from vitals_alerter.rules import compile_rules
from vitals_core.config import load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "vitals.example.toml"


def test_example_config_loads() -> None:
    settings = load_settings(env={"VITALS_CONFIG": str(EXAMPLE)})
    assert [c.kind for c in settings.agent.checks] == ["http", "sql", "redis", "process"]
    assert settings.agent.scrape[0].series["whisper_queue_depth"] == "queue_size"
    assert [r.name for r in settings.alerter.rules] == ["gpu_hot", "disk_fill", "queue_growing"]
    assert [r.name for r in settings.notifier.receivers] == ["ops-hook", "oncall-mail"]
    assert settings.gateway.cache_ttl == 30.0


def test_example_rules_compile() -> None:
    settings = load_settings(env={"VITALS_CONFIG": str(EXAMPLE)})
    names = {rule.name for rule in compile_rules(settings.alerter)}
    assert {"gpu_hot", "disk_fill", "queue_growing", "cpu_high", "memory_high"} <= names
