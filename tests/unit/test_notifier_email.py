"""Email: SMTP URLs, subjects, bodies from the templates, SMTP error classes."""

from __future__ import annotations

import aiosmtplib
import msgspec
import pytest

from vitals_core.events import AlertEvent, Annotation
from vitals_notifier import render
from vitals_notifier.channels.email import build_message, classify, parse_smtp_url
from vitals_notifier.records import Notification


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "password", "tls", "starttls"),
    [
        ("smtp://mail.example.com", "mail.example.com", 587, "", "", False, True),
        ("smtp://u%40x:p%3Aw@mail:2525", "mail", 2525, "u@x", "p:w", False, True),
        ("smtp://mail?starttls=false", "mail", 25, "", "", False, False),
        ("smtp://mail:26?starttls=0", "mail", 26, "", "", False, False),
        ("smtps://mail", "mail", 465, "", "", True, False),
    ],
)
def test_smtp_urls(
    url: str, host: str, port: int, user: str, password: str, tls: bool, starttls: bool
) -> None:
    t = parse_smtp_url(url)
    assert (t.host, t.port, t.username, t.password) == (host, port, user, password)
    assert (t.implicit_tls, t.starttls) == (tls, starttls)
    assert password == "" or password not in t.describe()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (60, "1m"), (725, "12m 5s"), (3600, "1h"), (12_000, "3h 20m"),
     (86_400 * 2 + 3600 * 4, "2d 4h"), (86_400, "1d")],
)  # fmt: skip
def test_duration(seconds: float, text: str) -> None:
    assert render.duration(seconds) == text


def ev(**kw: object) -> AlertEvent:
    base: dict[str, object] = {
        "ts": 1_764_192_000.0, "id": "e1", "alert_id": "a1", "event": "firing",
        "rule": "disk_full", "host": "gpu-1", "severity": "critical",
        "summary": "Disk / is 95% full", "started_at": 1_764_191_275.0,
    }  # fmt: skip
    return msgspec.convert(base | kw, AlertEvent)


SUBJECTS = [
    ([ev()], "[CRITICAL] gpu-1: Disk / is 95% full"),
    ([ev(severity="warning", summary="")], "[WARNING] gpu-1: disk_full"),
    ([ev(event="resolved", resolved_at=1_764_192_000.0)],
     "[RESOLVED] gpu-1: Disk / is 95% full, fired for 12m 5s"),
    ([ev(event="acknowledged", acknowledged_by="alice")],
     "[ACKNOWLEDGED by alice] gpu-1: Disk / is 95% full"),
    ([ev(event="escalated", escalation_step=2)],
     "[CRITICAL, escalated (step 2)] gpu-1: Disk / is 95% full"),
    ([ev(event="reminder")], "[CRITICAL, reminder] gpu-1: Disk / is 95% full"),
    ([ev(severity="warning"), ev(alert_id="a2", summary="CPU hot")],
     "[CRITICAL] gpu-1: 2 alerts, Disk / is 95% full and more"),
    ([ev(), ev(alert_id="a2", host="gpu-2")],
     "[CRITICAL] 2 hosts: 2 alerts, Disk / is 95% full and more"),
    ([Annotation(ts=1.0, id="n", text="deploy v2", host="api-1")], "[INFO] api-1: deploy v2"),
]  # fmt: skip


@pytest.mark.parametrize(("items", "subject"), SUBJECTS)
def test_subjects_say_severity_host_and_what(items: list[AlertEvent], subject: str) -> None:
    assert render.subject(list(items)) == subject


def notification(*items: AlertEvent) -> Notification:
    return Notification(
        id="msg_abc", receiver="ops", route="default", group_key="ops/default:{}",
        group_labels={}, events=list(items), created_at=1_764_192_000.0,
    )  # fmt: skip


def test_message_has_text_and_escaped_html() -> None:
    item = ev(event="resolved", resolved_at=1_764_192_000.0, description="<b>hot</b> & full",
              metric="disk.percent{mount=/}", value=95.0, threshold=90.0)  # fmt: skip
    message = build_message(notification(item), "vitals@example.com", ["ops@example.com"],
                            "https://vitals.example")  # fmt: skip
    assert message["Subject"] == "[RESOLVED] gpu-1: Disk / is 95% full, fired for 12m 5s"
    assert message["Message-ID"] == "<msg_abc@vitals>"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    plain = text.get_content()
    assert "fired for 12m 5s" in plain
    assert "value 95 (threshold 90)" in plain
    assert "<b>hot</b> & full" in plain
    markup = html.get_content()
    assert "&lt;b&gt;hot&lt;/b&gt; &amp; full" in markup
    assert "<b>hot</b>" not in markup
    assert 'href="https://vitals.example/"' in markup


def test_smtp_error_classes() -> None:
    assert classify(aiosmtplib.SMTPResponseException(451, "try later")).retry
    assert not classify(aiosmtplib.SMTPResponseException(550, "no such user")).retry
    assert not classify(aiosmtplib.SMTPAuthenticationError(535, "bad credentials")).retry
    no_tls = classify(aiosmtplib.SMTPException("STARTTLS extension not supported by server."))
    # Retried (a relay misconfigured for a while, STARTTLS stripped), never plaintext.
    assert no_tls.retry
    assert "starttls=false" in no_tls.error
    assert classify(ConnectionRefusedError(111, "Connection refused")).retry
    assert classify(aiosmtplib.SMTPConnectError("cannot connect")).retry
