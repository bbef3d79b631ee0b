"""The receivers in effect (the file's, plus the quick setup's) and their channels."""

from __future__ import annotations

from vitals_core.settings.notifier import (
    QUICK_EMAIL,
    QUICK_WEBHOOK,
    NotifierSettings,
    ReceiverSettings,
)
from vitals_notifier.channels import Channel
from vitals_notifier.channels.email import EmailChannel
from vitals_notifier.channels.webhook import WebhookChannel


def effective(s: NotifierSettings) -> list[ReceiverSettings]:
    """Every receiver: those of the file, then `webhook` and `email` from the quick setup."""
    out = list(s.receivers)
    if s.webhook_url:
        secrets = [s.webhook_secret] if s.webhook_secret else []
        out.append(ReceiverSettings(name=QUICK_WEBHOOK, kind="webhook", url=s.webhook_url,
                                    secrets=secrets))  # fmt: skip
    if s.smtp_url and s.email_to:
        out.append(ReceiverSettings(name=QUICK_EMAIL, kind="email", to=s.email_to))
    return out


def fallback(s: NotifierSettings) -> list[str]:
    """Where events go that no route matches: `default_receivers`; unset, every receiver
    when there are no routes, else the quick-setup receivers."""
    if s.default_receivers:
        return list(s.default_receivers)
    if not s.routes:
        return [r.name for r in effective(s)]
    return s.quick_receivers()


def channel(r: ReceiverSettings, s: NotifierSettings) -> Channel:
    timeout = r.timeout or s.timeout
    if r.kind == "webhook":
        return WebhookChannel(
            r,
            timeout=timeout,
            concurrency=r.concurrency or s.concurrency,
            allow_private=s.allow_private,
            external_url=s.external_url,
        )
    return EmailChannel(
        r,
        smtp_url=r.smtp_url or s.smtp_url,
        sender=r.sender or s.email_from,
        timeout=timeout,
        external_url=s.external_url,
    )
