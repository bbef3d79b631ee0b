"""SSRF safety: private addresses refused at start and again at send time, DNS pinned."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import Processes, eventually
from tests.integration.notifier_support import (
    SECRET,
    Receiver,
    Reply,
    alert,
    certificate,
    verify,
)
from vitals_core.settings.notifier import ReceiverSettings
from vitals_notifier.channels.webhook import WebhookChannel
from vitals_notifier.records import Notification


@pytest.fixture
async def rx() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


def notification() -> Notification:
    return Notification(id="msg_safety", receiver="hook", route="default", group_key="k",
                        group_labels={}, events=[alert()], created_at=time.time())  # fmt: skip


async def send(url: str, allow: list[str], ca: Path | None = None) -> tuple[bool, bool, str]:
    receiver = ReceiverSettings(name="hook", kind="webhook", url=url, secrets=[SECRET],
                                tls_ca_file=str(ca or ""))  # fmt: skip
    channel = WebhookChannel(receiver, timeout=5.0, concurrency=1, allow_private=allow)
    try:
        outcome = await channel.send(notification(), time.time())
    finally:
        await channel.close()
    return outcome.ok, outcome.refused, outcome.error


async def test_send_time_check_refuses_what_a_name_resolves_to(rx: Receiver) -> None:
    # `127.1` is not an address literal to a URL parser, but resolves to 127.0.0.1.
    url = f"http://127.1:{rx.port}/in"
    ok, refused, error = await send(url, [])
    assert (ok, refused) == (False, True)
    assert error == "refused: 127.1 resolves to 127.0.0.1, which is a loopback address"
    ok, refused, error = await send(url, ["10.0.0.0/8", "hooks.internal"])
    assert refused
    assert "loopback" in error
    assert rx.requests == []


@pytest.mark.parametrize("allow", [["127.0.0.1"], ["127.0.0.0/8"], ["127.1"]])
async def test_allowed_address_is_reached_pinned_with_the_name_in_host(
    rx: Receiver, allow: list[str]
) -> None:
    ok, refused, error = await send(f"http://127.1:{rx.port}/in?token=abc", allow)
    assert (ok, refused, error) == (True, False, "")
    (request,) = rx.requests
    # Connected to the checked address; the name travels in the Host header.
    assert request.headers["host"] == f"127.1:{rx.port}"
    assert request.path == "/in"
    assert verify([SECRET], request.headers, request.body)


async def test_https_goes_to_the_checked_address_with_the_name_for_sni_and_certificate(
    tmp_path: Path,
) -> None:
    good = certificate(tmp_path, "localhost")
    (tmp_path / "other").mkdir()
    wrong = certificate(tmp_path / "other", "other.example")
    for tls, delivered in ((good, True), (wrong, False)):
        rx = await Receiver(tls=tls).start()
        try:
            ok, refused, error = await send(f"https://localhost:{rx.port}/in", ["localhost"],
                                            ca=tls[0])  # fmt: skip
        finally:
            await rx.stop()
        assert not refused
        if delivered:
            assert (ok, error) == (True, "")
            assert rx.requests[0].headers["host"] == f"localhost:{rx.port}"
        else:
            # The certificate is checked against the name, not the address connected to.
            assert not ok
            assert "CERTIFICATE_VERIFY_FAILED" in error
            assert rx.requests == []


async def test_redirects_are_not_followed(rx: Receiver) -> None:
    rx.default["/in"] = Reply(302, {"Location": rx.url("/elsewhere")})
    ok, refused, error = await send(rx.url("/in"), ["127.0.0.1"])
    assert not ok
    assert not refused
    assert "302" in error
    assert [r.path for r in rx.requests] == ["/in"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:9/h", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata address"),
        ("http://[::1]:9/h", "::1 is a loopback address"),
        ("http://127.1:9/h", "127.1 resolves to 127.0.0.1, which is a loopback address"),
        ("file:///etc/passwd", "must be http or https"),
    ],
)
async def test_the_notifier_refuses_to_start_with_a_private_webhook(
    service_env: dict[str, str], processes: Processes, tmp_path: Path, url: str, message: str
) -> None:
    config = tmp_path / "refused.toml"
    config.write_text(f'[[notifier.receivers]]\nname = "hook"\nkind = "webhook"\nurl = "{url}"\n')
    proc = processes.service("notifier", service_env | {"VITALS_CONFIG": str(config)})
    await eventually(lambda: proc.poll() is not None, timeout=20)
    assert proc.returncode == 2
    log = processes.log("notifier")
    assert message in log
    assert "allow_private" in log or "http or https" in message
    assert "Traceback" not in log
