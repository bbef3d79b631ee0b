"""Email through a real SMTP server (aiosmtpd): plaintext when allowed, STARTTLS with
authentication, STARTTLS required, and an SMTP server that is down and then up."""

from __future__ import annotations

import email
import email.policy
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers import Processes, eventually
from tests.integration.notifier_support import (
    RETRY_FAST,
    alert,
    ask,
    certificate,
    publish,
    start_notifier,
    write_config,
)
from vitals_servers import free_port


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        if session.authenticated:
            self.logins.append(str(session.auth_data.login.decode()))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


def smtp_server(
    mailbox: Mailbox, port: int, tls: ssl.SSLContext | None = None, **kw: Any
) -> Controller:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth: Any) -> AuthResult:  # fmt: skip
        ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (b"vitals", b"pw")
        return AuthResult(success=ok, auth_data=auth)

    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=tls, authenticator=authenticator,
        ready_timeout=10, **kw,
    )  # fmt: skip
    controller.start()
    return controller


@pytest.fixture
def plain_smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = smtp_server(mailbox, port, auth_require_tls=False)
    yield mailbox, port
    controller.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return certificate(tmp_path_factory.mktemp("tls"), "127.0.0.1")


def env_for(
    env: dict[str, str], tmp_path: Path, toml: str = "", smtp_url: str = ""
) -> dict[str, str]:
    """The notifier's environment; with `smtp_url`, the quick setup to ops@example.com."""
    head = RETRY_FAST + 'group_by = ["alert_id"]\n'
    config = write_config(tmp_path / "notifier.toml", head + toml)
    quick = {"VITALS_SMTP_URL": smtp_url, "VITALS_ALERT_EMAIL_TO": "ops@example.com"}
    return env | {"VITALS_CONFIG": str(config)} | (quick if smtp_url else {})


async def test_firing_then_resolved_with_how_long_it_fired(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    plain_smtp: tuple[Mailbox, int],
) -> None:  # fmt: skip
    mailbox, port = plain_smtp
    env = env_for(service_env, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}?starttls=false")
    await start_notifier(processes, env)
    now = time.time()
    firing = alert(rule="disk_full", summary="Disk / is 95% full", value=95.0, threshold=90.0,
                   started_at=now - 725)  # fmt: skip
    await publish(nats_url, firing)
    await eventually(lambda: len(mailbox.messages) == 1, timeout=15)
    await publish(nats_url, alert(rule="disk_full", summary="Disk / is 95% full", event="resolved",
                                  started_at=now - 725, resolved_at=now))  # fmt: skip
    await eventually(lambda: len(mailbox.messages) == 2, timeout=15)
    assert mailbox.subjects() == [
        "[CRITICAL] gpu-1: Disk / is 95% full",
        "[RESOLVED] gpu-1: Disk / is 95% full, fired for 12m 5s",
    ]
    first = mailbox.messages[0]
    assert first["To"] == "ops@example.com"
    assert first["From"] == "vitals@localhost"
    text, html = first.get_body(("plain",)), first.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "value 95 (threshold 90)" in text.get_content()
    assert "<h2" in html.get_content()
    assert "Disk / is 95% full" in html.get_content()
    assert len({m["Message-ID"] for m in mailbox.messages}) == 2


async def test_starttls_with_authentication_and_starttls_required(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    plain_smtp: tuple[Mailbox, int], tls_files: tuple[Path, Path],
) -> None:  # fmt: skip
    cert, key = tls_files
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    secure, secure_port = Mailbox(), free_port()
    controller = smtp_server(secure, secure_port, tls, require_starttls=True)
    plain, plain_port = plain_smtp
    try:
        toml = (
            "retry_max_attempts = 3\n"
            f'[[notifier.receivers]]\nname = "secure"\nkind = "email"\nto = ["ops@example.com"]\n'
            f'smtp_url = "smtp://vitals:pw@127.0.0.1:{secure_port}"\ntls_ca_file = "{cert}"\n'
            f'[[notifier.receivers]]\nname = "insecure"\nkind = "email"\nto = ["ops@example.com"]\n'
            f'smtp_url = "smtp://127.0.0.1:{plain_port}"\n'
        )
        await start_notifier(processes, env_for(service_env, tmp_path, toml))
        await publish(nats_url, alert())
        await eventually(lambda: secure.messages, timeout=15)
        assert secure.logins == ["vitals"]

        async def refused() -> list[Any]:
            return list((await ask(nats_url, "dead_list")).data["dead"])

        found: Any = await eventually(refused, timeout=15)
        (letter,) = found
        assert letter["receiver"] == "insecure"
        assert "STARTTLS" in letter["reason"]
        assert "starttls=false" in letter["reason"]
        # Retried like any transient failure (a relay misconfigured for a while, or STARTTLS
        # stripped on the way), never sent in plaintext, dead only when retries ran out.
        assert letter["attempts"] == 3
        assert "gave up after 3 attempts" in letter["reason"]
        assert plain.messages == []
        assert "vitals:pw" not in processes.log("notifier")
    finally:
        controller.stop()


async def test_smtp_down_then_up_delivers(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path
) -> None:
    port = free_port()
    env = env_for(service_env, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}?starttls=false")
    await start_notifier(processes, env)
    await publish(nats_url, alert())

    async def failed() -> list[Any]:
        data = (await ask(nats_url, "attempts_list", receiver="email")).data
        return [a for a in data["attempts"] if a["result"] == "retry"]

    first_failures: Any = await eventually(failed, timeout=15)
    assert "Connect" in first_failures[0]["error"] or "refused" in first_failures[0]["error"]
    mailbox = Mailbox()
    controller = smtp_server(mailbox, port, auth_require_tls=False)
    try:
        await eventually(lambda: mailbox.messages, timeout=15)
        assert mailbox.subjects() == ["[CRITICAL] gpu-1: cpu_high on gpu-1"]
    finally:
        controller.stop()


async def test_a_server_that_offers_starttls_again_gets_the_message(
    nats_url: str, service_env: dict[str, str], processes: Processes, tmp_path: Path,
    tls_files: tuple[Path, Path],
) -> None:  # fmt: skip
    cert, key = tls_files
    port = free_port()
    plain = Mailbox()
    controller = smtp_server(plain, port, auth_require_tls=False)
    try:
        smtp_url = f"smtp://127.0.0.1:{port}?ca_file={cert}"
        await start_notifier(processes, env_for(service_env, tmp_path, smtp_url=smtp_url))
        await publish(nats_url, alert())

        async def retried() -> list[Any]:
            data = (await ask(nats_url, "attempts_list", receiver="email")).data
            return [a for a in data["attempts"] if a["result"] == "retry"]

        failures: Any = await eventually(retried, timeout=15)
        assert "STARTTLS" in failures[0]["error"]
    finally:
        controller.stop()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    secure = Mailbox()
    controller = smtp_server(secure, port, tls, require_starttls=True)
    try:
        await eventually(lambda: secure.messages, timeout=15)
        assert secure.subjects() == ["[CRITICAL] gpu-1: cpu_high on gpu-1"]
        assert plain.messages == []
    finally:
        controller.stop()
