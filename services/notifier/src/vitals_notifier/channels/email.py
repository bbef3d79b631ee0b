"""Email over SMTP with aiosmtplib: STARTTLS required unless the URL says `starttls=false`."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from vitals_core.settings.notifier import ReceiverSettings
from vitals_notifier import render
from vitals_notifier.channels import Outcome
from vitals_notifier.records import Notification

_FALSE = ("false", "0", "no", "off")


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str
    password: str
    implicit_tls: bool
    starttls: bool
    ca_file: str

    def describe(self) -> str:
        """Where mail goes, without the credentials."""
        mode = "tls" if self.implicit_tls else "starttls" if self.starttls else "plaintext"
        return f"smtp://{self.host}:{self.port} ({mode})"


def parse_smtp_url(url: str, ca_file: str = "") -> SmtpTarget:
    """`smtp://user:pass@host:port?starttls=false` (plaintext allowed) or `smtps://` (TLS)."""
    p = urlsplit(url)
    query = parse_qs(p.query)
    implicit = p.scheme == "smtps"
    starttls = not implicit and query.get("starttls", ["true"])[-1].lower() not in _FALSE
    default_port = 465 if implicit else 587 if starttls else 25
    return SmtpTarget(
        host=p.hostname or "localhost",
        port=p.port or default_port,
        username=unquote(p.username or ""),
        password=unquote(p.password or ""),
        implicit_tls=implicit,
        starttls=starttls,
        ca_file=ca_file or query.get("ca_file", [""])[-1],
    )


def build_message(n: Notification, sender: str, to: list[str], external_url: str) -> EmailMessage:
    mail = render.render(n, external_url)
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = email.utils.formatdate(n.created_at, usegmt=True)
    # The same id on every retry lets mail systems drop a duplicate.
    message["Message-ID"] = f"<{n.id}@vitals>"
    message["X-Vitals-Group"] = n.group_key
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def classify(exc: Exception) -> Outcome:
    """SMTP 4xx, connection trouble and a missing STARTTLS are retried; 5xx are not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        transient = all(400 <= c < 500 for c in codes)
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return Outcome(ok=False, retry=transient, status=codes[0] if codes else None,
                       error=f"recipients refused: {detail}")  # fmt: skip
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        transient = 400 <= exc.code < 500
        return Outcome(
            ok=False, retry=transient, status=exc.code, error=f"SMTP {exc.code}: {exc.message}"
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported | aiosmtplib.SMTPException) and (
        "STARTTLS" in str(exc)
    ):
        # A relay misconfigured for a while, or STARTTLS stripped on the way: retried like
        # any transient failure, and never sent in plaintext.
        return Outcome(ok=False, retry=True, error=f"{exc} (STARTTLS is required; "
                       "`?starttls=false` in the SMTP URL allows plaintext)")  # fmt: skip
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return Outcome(ok=False, retry=True, error="SMTP server did not answer in time")
    return Outcome(ok=False, retry=True, error=f"{type(exc).__name__}: {exc}")


class EmailChannel:
    kind = "email"

    def __init__(
        self, receiver: ReceiverSettings, *, smtp_url: str, sender: str, timeout: float,
        external_url: str = "",
    ) -> None:  # fmt: skip
        self.receiver = receiver
        self.target = parse_smtp_url(smtp_url, receiver.tls_ca_file)
        self.sender = sender
        self.timeout = timeout
        self.external_url = external_url

    async def send(self, n: Notification, now: float) -> Outcome:
        t = self.target
        message = build_message(n, self.sender, self.receiver.to, self.external_url)
        try:
            await aiosmtplib.send(
                message,
                hostname=t.host,
                port=t.port,
                username=t.username or None,
                password=t.password or None,
                use_tls=t.implicit_tls,
                start_tls=t.starttls if not t.implicit_tls else None,
                cert_bundle=t.ca_file or None,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return classify(exc)
        return Outcome(ok=True, status=250)

    async def close(self) -> None:
        return None
