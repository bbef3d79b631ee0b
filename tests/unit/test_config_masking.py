"""`vitals config` prints the settings with every secret masked."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from vitals import tools
from vitals.masking import mask_settings, mask_string

WHSEC = "whsec_" + base64.b64encode(b"s" * 32).decode()
CONFIG = f"""
[nats]
url = "nats://svc:natspw1@bus.example.com:4222"
password = "natspw2"

[redis]
url = "redis://:redispw1@cache.example.com:6379/0"

[agent]
labels = {{ role = "db" }}

[[agent.checks]]
name = "pg"
kind = "sql"
target = "postgresql://monitor:pgpw1@db.example.com:5432/app"

[[agent.checks]]
name = "pg2"
kind = "sql"
target = "host=db.example.com user=monitor password=pgpw2 dbname=app"

[[agent.checks]]
name = "cache"
kind = "redis"
target = "redis://:redispw2@cache.example.com:6379"

[[agent.checks]]
name = "api"
kind = "http"
target = "https://u:httppw1@api.example.com/health?token=tok1&page=2"

[[agent.checks]]
name = "backup"
kind = "command"
target = "mysqladmin -u root -pmypw1 --password=mypw2 ping"

[[agent.checks]]
name = "kv"
kind = "command"
target = "redis-cli -a redispw3 ping"

[[agent.scrape]]
app = "app"
url = "https://scrape:scrapepw1@app.example.com/metrics?api_key=key1"
series = {{ queue_depth = "queue_size" }}

[notifier]
smtp_url = "smtp://ops:smtppw1@mail.example.com:587?starttls=true"
webhook_url = "https://hooks.example.com/in?token=tok2&sig=sig1"
webhook_secret = "{WHSEC}"

[[notifier.receivers]]
name = "hook"
kind = "webhook"
url = "https://hooks.example.com/x?code=code1"
secrets = ["{WHSEC}"]
headers = {{ X-Api-Key = "apikey1", Authorization = "Bearer bearer1", X-Custom = "custom1" }}

[[notifier.receivers]]
name = "mail"
kind = "email"
smtp_url = "smtps://ops:smtppw2@mail.example.com"
to = ["ops@example.com"]
"""
SECRETS = [
    "natspw1", "natspw2", "redispw1", "redispw2", "redispw3", "pgpw1", "pgpw2", "httppw1",
    "tok1", "tok2", "sig1", "code1", "mypw1", "mypw2", "scrapepw1", "key1", "smtppw1",
    "smtppw2", "apikey1", "bearer1", "custom1", WHSEC,
]  # fmt: skip


def test_vitals_config_masks_every_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "v.toml").write_text(CONFIG)
    for name in [k for k in os.environ if k.startswith("VITALS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VITALS_CONFIG", str(tmp_path / "v.toml"))
    monkeypatch.setenv("VITALS_ADMIN_PASSWORD", "adminpw1")
    assert tools.check_config() == 0
    out = capsys.readouterr().out
    leaked = [s for s in [*SECRETS, "adminpw1"] if s in out]
    assert leaked == []
    shown = json.loads(out)
    # What is not secret stays readable.
    assert shown["nats"]["url"] == "nats://svc:***@bus.example.com:4222"
    assert shown["redis"]["url"] == "redis://:***@cache.example.com:6379/0"
    checks = {c["name"]: c["target"] for c in shown["agent"]["checks"]}
    assert checks["pg"] == "postgresql://monitor:***@db.example.com:5432/app"
    assert checks["pg2"] == "host=db.example.com user=monitor password=*** dbname=app"
    assert checks["api"] == "https://u:***@api.example.com/health?token=***&page=2"
    assert checks["backup"] == "mysqladmin -u root -p*** --password=*** ping"
    assert checks["kv"] == "redis-cli -a *** ping"
    notifier = shown["notifier"]
    assert notifier["smtp_url"] == "smtp://ops:***@mail.example.com:587?starttls=true"
    assert notifier["webhook_url"] == "https://hooks.example.com/in?token=***&sig=***"
    [hook, _] = notifier["receivers"]
    assert hook["headers"] == {"X-Api-Key": "***", "Authorization": "***", "X-Custom": "***"}
    assert hook["url"] == "https://hooks.example.com/x?code=***"
    assert shown["agent"]["labels"] == {"role": "db"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://monitor:pw@db/app", "postgresql://monitor:***@db/app"),
        ("redis://:pw@cache:6379", "redis://:***@cache:6379"),
        ("https://u:pw@h/p?token=t&x=1", "https://u:***@h/p?token=***&x=***"),
        ("https://h/p?token=t&page=2", "https://h/p?token=***&page=2"),
        ("https://h/p?access_token=t", "https://h/p?access_token=***"),
        ("https://h/p?sslmode=require", "https://h/p?sslmode=require"),
        ("https://h/p?code=abc", "https://h/p?code=***"),
        ("https://user@h/p", "https://user@h/p"),
        ("run --password=x", "run --password=***"),
        ("plain text", "plain text"),
        ("", ""),
    ],
)
def test_mask_string(text: str, expected: str) -> None:
    assert mask_string(text) == expected


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"password": "x"}, {"password": "***"}),
        ({"password": ""}, {"password": ""}),  # unset stays visibly unset
        ({"db_password": "x", "api_key": "y", "auth_token": "z"},
         {"db_password": "***", "api_key": "***", "auth_token": "***"}),
        ({"secrets": ["a", "b"]}, {"secrets": ["***", "***"]}),
        ({"token_ttl": 3600.0, "ws_auth_timeout": 10.0},
         {"token_ttl": 3600.0, "ws_auth_timeout": 10.0}),
        ({"nkey_seed_file": "/etc/x.nk", "creds_file": "/etc/x.creds"},
         {"nkey_seed_file": "/etc/x.nk", "creds_file": "/etc/x.creds"}),
        ({"auth": {"users": [{"name": "a", "password_hash": "h"}]}},
         {"auth": {"users": [{"name": "a", "password_hash": "***"}]}}),
        ({"headers": {"X-Anything": "v"}}, {"headers": {"X-Anything": "***"}}),
        ({"labels": {"token": "v"}}, {"labels": {"token": "***"}}),
    ],
)  # fmt: skip
def test_mask_settings(settings: dict[str, object], expected: dict[str, object]) -> None:
    assert mask_settings(settings) == expected
