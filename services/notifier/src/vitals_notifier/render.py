"""Email subject, plain text and HTML from the templates in `templates/`. Pure."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from string import Template

from vitals_core.events import AlertEvent
from vitals_notifier import records
from vitals_notifier.records import Item, Notification

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}
COLORS = {"critical": "#cf222e", "warning": "#bf8700", "info": "#0969da", "resolved": "#1a7f37"}


def _template(name: str) -> Template:
    return Template(resources.files("vitals_notifier").joinpath("templates", name).read_text())


TEXT, ALERT_TEXT = _template("message.txt"), _template("alert.txt")
HTML, ALERT_HTML = _template("message.html"), _template("alert.html")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def duration(seconds: float) -> str:
    """`45s`, `12m 5s`, `3h 20m`, `2d 4h`."""
    s = max(0, round(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {s}s" if s else f"{minutes}m"
    return f"{s}s"


def fired_for(e: AlertEvent) -> str:
    """How long a resolved alert fired, or '' when the event does not say."""
    if e.event != "resolved" or not e.started_at:
        return ""
    return duration((e.resolved_at or e.ts) - e.started_at)


def tag(e: Item) -> str:
    """What the subject's brackets say about one event."""
    if not isinstance(e, AlertEvent):
        return "INFO"
    sev = e.severity.upper()
    match e.event:
        case "resolved":
            return "RESOLVED"
        case "acknowledged":
            return f"ACKNOWLEDGED by {e.acknowledged_by}" if e.acknowledged_by else "ACKNOWLEDGED"
        case "silenced":
            return "SILENCED"
        case "escalated":
            return f"{sev}, escalated (step {e.escalation_step})"
        case "firing":
            return sev
        case other:
            return f"{sev}, {other.replace('_', ' ')}"


def what(e: Item) -> str:
    if not isinstance(e, AlertEvent):
        return e.text
    text = e.summary or e.rule
    took = fired_for(e)
    return f"{text}, fired for {took}" if took else text


def subject(events: list[Item]) -> str:
    if len(events) == 1:
        e = events[0]
        return _one_line(f"[{tag(e)}] {e.host or 'vitals'}: {what(e)}")
    hosts = sorted({e.host for e in events if e.host})
    where = hosts[0] if len(hosts) == 1 else f"{len(hosts)} hosts"
    if records.status(events) == "resolved":
        label = "RESOLVED"
    else:
        label = max((_severity(e) for e in events), key=SEVERITY_ORDER.__getitem__).upper()
    return _one_line(f"[{label}] {where}: {len(events)} alerts, {what(events[0])} and more")


def _severity(e: Item) -> str:
    return e.severity if isinstance(e, AlertEvent) else "info"


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _facts(e: Item) -> list[str]:
    if not isinstance(e, AlertEvent):
        return [f"host {e.host}" if e.host else "", f"by {e.author}" if e.author else ""]
    value = ""
    if e.value is not None:
        value = f"value {e.value:g}" + (f" (threshold {e.threshold:g})" if e.threshold else "")
    return [
        f"host {e.host}",
        f"rule {e.rule}",
        f"metric {e.metric}" if e.metric else "",
        value,
        f"since {_when(e.started_at)}" if e.started_at else "",
    ]


def _details(e: Item) -> list[str]:
    if not isinstance(e, AlertEvent):
        return [", ".join(e.tags)] if e.tags else []
    out = [e.description] if e.description else []
    if e.comment:
        out.append(f"Comment: {e.comment}")
    return out


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(n: Notification, external_url: str = "") -> Email:
    events = n.events
    headline = subject(events)
    link = f"{external_url.rstrip('/')}/" if external_url else ""
    text_alerts, html_alerts = [], []
    for e in events:
        title = f"[{tag(e)}] {what(e)}"
        facts = [f for f in _facts(e) if f]
        details = _details(e)
        text_alerts.append(
            ALERT_TEXT.substitute(
                title=title,
                facts=" | ".join(facts),
                details="".join(f"  {d}\n" for d in details),
            ).rstrip()
        )
        color = "resolved" if records.is_resolved(e) else _severity(e)
        html_alerts.append(
            ALERT_HTML.substitute(
                color=COLORS[color],
                title=html.escape(title),
                facts=html.escape(" · ".join(facts)),
                details="".join(f'<p style="margin: 4px 0;">{html.escape(d)}</p>' for d in details),
            )
        )
    if n.truncated:
        text_alerts.append(f"… and {n.truncated} more")
        html_alerts.append(f"<p>… and {n.truncated} more</p>")
    text = TEXT.substitute(
        headline=headline,
        alerts="\n\n".join(text_alerts),
        receiver=n.receiver,
        group_key=n.group_key,
        dashboard=link,
    )
    body = HTML.substitute(
        headline=html.escape(headline),
        alerts="\n".join(html_alerts),
        receiver=html.escape(n.receiver),
        group_key=html.escape(n.group_key),
        dashboard=f'<a href="{html.escape(link)}">Open the dashboard</a>' if link else "",
    )
    return Email(subject=headline, text=text.rstrip() + "\n", html=body)
