"""Which configurations make the agent load OpenSSL."""

from __future__ import annotations

import pytest

from vitals_agent import tls
from vitals_core.settings import (
    AgentSettings,
    CheckSettings,
    NatsSettings,
    ScrapeSettings,
    Settings,
)


def settings(url: str = "nats://bus:4222", checks: list[CheckSettings] | None = None,
             scrape: list[ScrapeSettings] | None = None) -> Settings:  # fmt: skip
    return Settings(
        nats=NatsSettings(url=url),
        agent=AgentSettings(checks=checks or [], scrape=scrape or []),
    )


def check(kind: str, target: str) -> CheckSettings:
    return CheckSettings(name=kind, kind=kind, target=target)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "needed"),
    [
        (settings(), False),
        (settings("nats://a:1,tls://b:2"), True),
        (settings("tls://bus:4222"), True),
        (settings(checks=[check("http", "http://api/health")]), False),
        (settings(checks=[check("http", "https://api/health")]), True),
        (settings(checks=[check("tcp", "db:5432"), check("process", "worker")]), False),
        (settings(checks=[check("redis", "redis://cache:6379")]), False),
        (settings(checks=[check("redis", "rediss://cache:6380")]), True),
        (settings(checks=[check("sql", "/var/lib/app.db")]), False),
        (settings(checks=[check("sql", "postgresql://db/app")]), True),
        (settings(checks=[check("command", "true")]), False),
        (Settings(nats=NatsSettings(url="nats://bus:4222", tls_ca_file="/etc/ca.pem")), True),
        (
            settings(
                scrape=[ScrapeSettings(app="a", url="http://api/metrics", series={"up": "up"})]
            ),
            True,
        ),
    ],
)
def test_tls_needed(config: Settings, needed: bool) -> None:
    assert tls.needed(config) is needed
