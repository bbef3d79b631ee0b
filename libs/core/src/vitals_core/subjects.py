"""Every NATS subject and stream name Vitals uses; nothing else builds one by hand."""

from __future__ import annotations

import re

PREFIX = "vitals"

METRICS_ALL = f"{PREFIX}.metrics.*"
HOST_INFO_ALL = f"{PREFIX}.info.*"
APP_ALL = f"{PREFIX}.app.*.*"
HEALTH_ALL = f"{PREFIX}.health.*.*"
ALERTS_ALL = f"{PREFIX}.alerts.*"
ANNOTATIONS = f"{PREFIX}.annotations"

# Request/reply control subjects served by the alerter and the notifier.
CONTROL_PREFIX = f"{PREFIX}.control"
ALERTER_CONTROL = f"{CONTROL_PREFIX}.alerter"
NOTIFIER_CONTROL = f"{CONTROL_PREFIX}.notifier"

# JetStream streams: host telemetry (short retention) and alert/annotation events.
STREAM_TELEMETRY = "VITALS_TELEMETRY"
STREAM_TELEMETRY_SUBJECTS = [METRICS_ALL, HOST_INFO_ALL, APP_ALL, HEALTH_ALL]
STREAM_EVENTS = "VITALS_EVENTS"
STREAM_EVENTS_SUBJECTS = [ALERTS_ALL, ANNOTATIONS]

# The notifier's own stores: every delivery attempt (a stream, one subject per receiver),
# the outbox of deliveries not yet done, dead letters and receiver state (KV buckets).
NOTIFY_ATTEMPTS_PREFIX = f"{PREFIX}.notify.attempts"
NOTIFY_ATTEMPTS_ALL = f"{NOTIFY_ATTEMPTS_PREFIX}.*"
STREAM_NOTIFY_ATTEMPTS = "VITALS_NOTIFY_ATTEMPTS"
BUCKET_NOTIFY_OUTBOX = "vitals-notify-outbox"
BUCKET_NOTIFY_DEAD = "vitals-notify-dead"
BUCKET_NOTIFY_STATE = "vitals-notify-state"
NOTIFIER_CONSUMER = "vitals-notifier"
# Notifier replicas share the group-key space through leases on numbered partitions.
KV_NOTIFIER_LEASES = "vitals_notifier_leases"


def notifier_consumer(partition: int) -> str:
    """The durable consumer of alert events for one notifier partition."""
    return f"{NOTIFIER_CONSUMER}-p{partition}"


# Host ids and check/app names become one subject token each.
_TOKEN = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")


class InvalidName(ValueError):
    pass


def token(name: str, what: str = "name") -> str:
    """Return `name` as a subject token, or raise naming what is wrong with it."""
    if not _TOKEN.match(name) or "." in name:
        raise InvalidName(
            f"{what} {name!r} is not usable in a subject: use letters, digits, '_' and '-' "
            "(at most 128 characters)"
        )
    return name


def safe_token(name: str) -> str:
    """Map any name (a hostname with dots, say) to a valid subject token."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:128]
    return cleaned or "_"


def metrics(host: str) -> str:
    return f"{PREFIX}.metrics.{token(host, 'host')}"


def host_info(host: str) -> str:
    return f"{PREFIX}.info.{token(host, 'host')}"


def app(host: str, app_name: str) -> str:
    return f"{PREFIX}.app.{token(host, 'host')}.{token(app_name, 'app')}"


def health(host: str, check: str) -> str:
    return f"{PREFIX}.health.{token(host, 'host')}.{token(check, 'check')}"


def alerts(host: str) -> str:
    return f"{PREFIX}.alerts.{token(host, 'host')}"


def control(service: str, verb: str) -> str:
    return f"{CONTROL_PREFIX}.{service}.{verb}"


def notify_attempts(receiver: str) -> str:
    return f"{NOTIFY_ATTEMPTS_PREFIX}.{token(receiver, 'receiver')}"


def host_of(subject: str) -> str:
    """The host token of a per-host subject (`vitals.<family>.<host>[...]`)."""
    parts = subject.split(".")
    if len(parts) < 3 or parts[0] != PREFIX:
        raise InvalidName(f"subject {subject!r} is not a per-host Vitals subject")
    return parts[2]


# The alerter's JetStream KV buckets and its control queue group.
KV_ALERT_STATES = "vitals_alert_states"
KV_SILENCES = "vitals_silences"
KV_ACKS = "vitals_acks"
# Where each alerter partition has been evaluated to in the telemetry stream, and the
# leases (with the replicas' heartbeats) that say which replica owns which partition.
KV_ALERTER_POSITIONS = "vitals_alerter_positions"
KV_ALERTER_LEASES = "vitals_alerter_leases"
ALERTER_QUEUE = "vitals-alerter"


# Core NATS (no stream): every gateway replica hears revoked tokens at once.
GATEWAY_REVOKED = f"{PREFIX}.gateway.revoked"


# Inbox prefixes: JetStream answers and deliveries arrive on subjects under these. Each
# agent has its own, so NATS permissions can let it read its acknowledgements and nothing
# of the services', where their consumers receive every host's events.
SERVICES_INBOX = "_INBOX.services"
AGENT_INBOX_PREFIX = "_INBOX.agent"


def agent_inbox(host: str) -> str:
    return f"{AGENT_INBOX_PREFIX}.{token(host, 'host')}"


def agent_publish_allow(host: str) -> list[str]:
    """What one agent's credentials may publish: its own host's subjects only."""
    host = token(host, "host")
    return [
        f"{PREFIX}.metrics.{host}",
        f"{PREFIX}.info.{host}",
        f"{PREFIX}.app.{host}.>",
        f"{PREFIX}.health.{host}.>",
    ]


def agent_subscribe_allow(host: str) -> list[str]:
    """What it may receive: its own inbox, where JetStream acknowledges its messages."""
    return [f"{agent_inbox(host)}.>"]


def service_inbox(name: str) -> str:
    """Each service connection's own prefix, under the services' (per-service users can
    then be allowed just theirs)."""
    return f"{SERVICES_INBOX}.{safe_token(name)}"
