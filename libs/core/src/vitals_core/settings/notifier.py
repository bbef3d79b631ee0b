from __future__ import annotations

import msgspec


class NotifierSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Quick setup without receivers in the file (DESIGN.md's VITALS_WEBHOOK_* and VITALS_SMTP_*).
    webhook_url: str = ""
    webhook_secret: str = ""
    smtp_url: str = ""
    email_to: list[str] = []
    email_from: str = "vitals@localhost"
    allow_private: list[str] = []

    def __post_init__(self) -> None:
        if self.webhook_secret and not self.webhook_secret.startswith("whsec_"):
            raise ValueError("webhook_secret must be a 'whsec_' secret")
