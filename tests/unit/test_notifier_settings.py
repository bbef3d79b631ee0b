"""Notifier settings: quick setup from the environment, and clear errors for bad values."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from vitals import tools
from vitals_core.config import ConfigError, load_settings
from vitals_notifier import receivers

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def test_quick_setup_from_the_environment(tmp_path: Path) -> None:
    env = {
        "VITALS_CONFIG": str(tmp_path / "none.toml"),
        "VITALS_WEBHOOK_URL": "http://127.0.0.1:9000/hook",
        "VITALS_WEBHOOK_SECRET": SECRET,
        "VITALS_SMTP_URL": "smtp://u:p@127.0.0.1:2525?starttls=false",
        "VITALS_ALERT_EMAIL_TO": "ops@example.com, dev@example.com",
        "VITALS_NOTIFY_ALLOW_PRIVATE": "127.0.0.1, 10.0.0.0/8",
    }
    (tmp_path / "none.toml").write_text("")
    s = load_settings(env=env).notifier
    effective = receivers.effective(s)
    assert [(r.name, r.kind) for r in effective] == [("webhook", "webhook"), ("email", "email")]
    assert effective[0].secrets == [SECRET]
    assert effective[1].to == ["ops@example.com", "dev@example.com"]
    assert receivers.fallback(s) == ["webhook", "email"]
    assert s.allow_private == ["127.0.0.1", "10.0.0.0/8"]


def write(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "v.toml").write_text(text)
    return {"VITALS_CONFIG": str(tmp_path / "v.toml")}


BAD = [
    ({"VITALS_WEBHOOK_URL": "ftp://x/y"}, "webhook_url must be http or https", "(got 'ftp')"),
    (
        {"VITALS_WEBHOOK_URL": "http://127.0.0.1/h"},
        "webhook_url",
        "is refused: 127.0.0.1 is a loopback",
    ),
    ({"VITALS_WEBHOOK_URL": "http://localhost:80/h"}, "webhook_url", "loopback"),
    ({"VITALS_WEBHOOK_URL": "http://169.254.169.254/"}, "webhook_url", "metadata"),
    ({"VITALS_WEBHOOK_SECRET": "plain"}, "webhook_secret", "must be a 'whsec_' secret"),
    ({"VITALS_WEBHOOK_SECRET": "whsec_!!!"}, "webhook_secret", "must be base64 after 'whsec_'"),
    ({"VITALS_SMTP_URL": "http://mail"}, "smtp_url must start with", "smtp:// or smtps://"),
    ({"VITALS_NOTIFY_ALLOW_PRIVATE": "10.0.0.0/33"}, "allow_private entry", "is not a CIDR"),
    ({"VITALS_NOTIFIER_TIMEOUT": "0"}, "notifier", "timeout must be positive"),
    ({"VITALS_NOTIFIER_RETRY_JITTER": "2"}, "notifier", "retry_jitter must be between 0 and 1"),
]


@pytest.mark.parametrize(("env", "setting", "message"), BAD)
def test_bad_values_name_the_problem(
    tmp_path: Path, env: dict[str, str], setting: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env=write(tmp_path, "") | env)
    assert setting in str(err.value)
    assert message in str(err.value)


BAD_FILES = [
    ('[[notifier.receivers]]\nname = "a.b"\nkind = "webhook"\nurl = "https://x.example"\n',
     "is not usable in a subject"),
    ('[[notifier.receivers]]\nname = "a"\nkind = "webhook"\n', "needs a `url`"),
    ('[[notifier.receivers]]\nname = "a"\nkind = "email"\nto = ["x@y"]\n',
     "receiver 'a': needs `smtp_url`"),
    ('[[notifier.receivers]]\nname = "a"\nkind = "webhook"\nurl = "https://x.example"\n'
     'headers = {webhook-id = "1"}\n', "header 'webhook-id' cannot be set"),
    ('[[notifier.routes]]\nreceivers = ["nobody"]\n', "unknown receiver 'nobody'"),
    ('[[notifier.routes]]\nreceivers = []\n', "at least one receiver"),
    ('[[notifier.receivers]]\nname = "a"\nkind = "webhook"\nurl = "https://x.example"\n'
     '[[notifier.routes]]\nreceivers = ["a"]\nevents = ["fired"]\n', "unknown event kind 'fired'"),
    ('[[notifier.receivers]]\nname = "a"\nkind = "webhook"\nurl = "https://x.example"\n'
     '[[notifier.routes]]\nreceivers = ["a"]\nmatchers = [{name = "x", op = "=~", value = "("}]\n',
     "matcher x=~'('"),
    ('[[notifier.receivers]]\nname = "a"\nkind = "webhook"\nurl = "https://x.example"\n'
     '[[notifier.routes]]\nreceivers = ["a"]\ncontinu = true\n', "unknown field `continu`"),
    ('[notifier]\nwebhook_url = "https://x.example"\n[[notifier.receivers]]\nname = "webhook"\n'
     'kind = "webhook"\nurl = "https://y.example"\n', "taken by the quick setup"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env=write(tmp_path, text))
    assert "notifier" in str(err.value)
    assert message in str(err.value)


def test_allow_private_opens_a_literal_address(tmp_path: Path) -> None:
    env = write(tmp_path, "") | {
        "VITALS_WEBHOOK_URL": "http://127.0.0.1:9000/h",
        "VITALS_NOTIFY_ALLOW_PRIVATE": "127.0.0.0/8",
    }
    assert load_settings(env=env).notifier.quick_receivers() == ["webhook"]


def test_vitals_config_hides_notifier_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = write(tmp_path, "") | {
        "VITALS_WEBHOOK_URL": "https://hooks.example.com/h",
        "VITALS_WEBHOOK_SECRET": SECRET,
        "VITALS_SMTP_URL": "smtp://ops:hunter2@mail.example.com:587",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert tools.check_config() == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    assert "hunter2" not in out
    assert "smtp://ops:***@mail.example.com:587" in out
