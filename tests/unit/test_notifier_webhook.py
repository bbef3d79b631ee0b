"""Webhooks: status classes, Standard Webhooks signatures, bodies, refused addresses."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import msgspec
import pytest

from vitals import tools
from vitals_core.events import AlertEvent, Annotation
from vitals_core.settings.notifier import refused_address
from vitals_notifier import payload, records, signing
from vitals_notifier.channels.webhook import classify, describe_url
from vitals_notifier.records import Notification

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("status", "retry_after", "ok", "retry", "gone", "after"),
    [
        (200, None, True, False, False, None),
        (204, None, True, False, False, None),
        (301, None, False, True, False, None),
        (400, None, False, False, False, None),
        (401, None, False, False, False, None),
        (404, "10", False, False, False, None),
        (408, None, False, True, False, None),
        (410, None, False, False, True, None),
        (429, "7", False, True, False, 7.0),
        (500, None, False, True, False, None),
        (503, "120", False, True, False, 120.0),
    ],
)
def test_status_classes(
    status: int, retry_after: str | None, ok: bool, retry: bool, gone: bool, after: float | None
) -> None:
    outcome = classify(status, retry_after, "", now=0.0)
    assert (outcome.ok, outcome.retry, outcome.gone, outcome.retry_after) == (
        ok,
        retry,
        gone,
        after,
    )
    assert outcome.status == status


def test_redirects_are_failures_that_say_so() -> None:
    assert "redirects are not followed" in classify(302, None, "", 0.0).error


def test_signature_matches_the_specification_example() -> None:
    # The example from the Standard Webhooks specification's reference test suite.
    signature = signing.sign(
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_rotation_signs_with_every_secret() -> None:
    a, b = "whsec_" + "A" * 32, "whsec_" + "B" * 32
    both = signing.sign([a, b], "msg_1", 1, b"{}").split(" ")
    assert both == [signing.sign([a], "msg_1", 1, b"{}"), signing.sign([b], "msg_1", 1, b"{}")]
    headers = signing.headers([], "msg_1", 1, b"{}")
    assert headers == {"webhook-id": "msg_1", "webhook-timestamp": "1"}


def alert_event(**kw: object) -> AlertEvent:
    base: dict[str, object] = {
        "ts": 1_764_191_990.0, "id": "e1", "alert_id": "disk_full-gpu-1", "event": "firing",
        "rule": "disk_full", "host": "gpu-1", "severity": "critical", "summary": "Disk / 95% full",
        "labels": {"mount": "/"}, "value": 95.0, "threshold": 90.0,
        "started_at": 1_764_191_690.0,
    }  # fmt: skip
    return msgspec.convert(base | kw, AlertEvent)


def notification(*items: AlertEvent | Annotation) -> Notification:
    return Notification(
        id="msg_x", receiver="ops", route="default", group_key='ops/default:{host="gpu-1"}',
        group_labels={"host": "gpu-1"}, events=list(items), created_at=1_764_192_000.0,
    )  # fmt: skip


def test_alertmanager_body() -> None:
    firing = alert_event()
    resolved = alert_event(id="e2", alert_id="cpu-gpu-1", rule="cpu_high", event="resolved",
                           resolved_at=1_764_191_995.0, labels={"mount": "/"})  # fmt: skip
    body = payload.alertmanager_body(notification(firing, resolved), "https://vitals.example")
    raw = msgspec.json.decode(msgspec.json.encode(body))
    assert raw["version"] == "4"
    assert raw["status"] == "firing"
    assert raw["groupKey"] == 'ops/default:{host="gpu-1"}'
    assert raw["commonLabels"] == {"mount": "/", "severity": "critical", "host": "gpu-1"}
    first, second = raw["alerts"]
    assert first["labels"]["alertname"] == "disk_full"
    assert first["annotations"]["value"] == "95"
    assert first["annotations"]["threshold"] == "90"
    assert first["startsAt"] == "2025-11-26T21:14:50.000Z"
    assert first["endsAt"] == payload.ZERO_TIME
    assert first["status"] == "firing"
    assert second["status"] == "resolved"
    assert second["endsAt"] == "2025-11-26T21:19:55.000Z"
    assert first["generatorURL"] == "https://vitals.example/alerts/disk_full-gpu-1"
    assert len(first["fingerprint"]) == 16
    assert first["fingerprint"] != second["fingerprint"]


def test_vitals_body_status_and_events() -> None:
    resolved = alert_event(event="resolved", resolved_at=1_764_191_995.0)
    note = Annotation(ts=1.0, id="n1", text="deploy", host="gpu-1")
    body = msgspec.json.decode(payload.encode(notification(resolved), "vitals"))
    assert body["status"] == "resolved"
    assert body["type"] == "vitals.notification"
    assert body["events"][0]["kind"] == "alert"
    assert body["version"] == 1
    assert payload.vitals_body(notification(resolved, note)).status == "firing"


def test_latest_event_per_alert_is_kept() -> None:
    first = alert_event(id="e1", ts=10.0)
    ack = alert_event(id="e2", ts=20.0, event="acknowledged")
    other = alert_event(id="e3", ts=15.0, alert_id="other")
    assert records.latest_per_alert([first, other, ack]) == [ack, other]


def test_notification_id_is_stable_for_the_same_batch() -> None:
    a = records.notification_id("ops", "k", ["e2", "e1"])
    assert a == records.notification_id("ops", "k", ["e1", "e2"])
    assert a != records.notification_id("pager", "k", ["e1", "e2"])
    assert a.startswith("msg_")


def test_published_webhook_schema_is_current() -> None:
    published = (REPO / tools.WEBHOOK_SCHEMA_PATH).read_text()
    assert published == tools.webhook_schema_text(), "run `make schema` and commit docs/"


ADDRESSES = [
    ("hooks.example.com", "93.184.215.14", [], ""),
    ("x", "127.0.0.1", [], "loopback"),
    ("x", "10.1.2.3", [], "private or reserved"),
    ("x", "172.16.0.1", [], "private or reserved"),
    ("x", "192.168.1.1", [], "private or reserved"),
    ("x", "100.64.0.1", [], "private or reserved"),
    ("x", "169.254.10.10", [], "link-local"),
    ("x", "169.254.169.254", [], "metadata"),
    ("x", "169.254.169.254", ["169.254.0.0/16"], "metadata"),
    ("x", "169.254.169.254", ["169.254.169.254"], ""),
    ("x", "0.0.0.0", [], "private or reserved"),
    ("x", "224.0.0.1", [], "multicast"),
    ("x", "::1", [], "loopback"),
    ("x", "fe80::1", [], "link-local"),
    ("x", "fd00::1", [], "private or reserved"),
    ("x", "::ffff:127.0.0.1", [], "loopback"),
    ("x", "64:ff9b::a00:1", [], "private or reserved"),
    ("x", "2606:4700::1111", [], ""),
    ("x", "127.0.0.1", ["127.0.0.1"], ""),
    ("x", "127.0.0.5", ["127.0.0.0/8"], ""),
    ("x", "10.0.0.1", ["127.0.0.0/8"], "private or reserved"),
    ("hooks.internal", "10.0.0.1", ["hooks.internal"], ""),
    ("Hooks.Internal.", "10.0.0.1", ["hooks.internal"], ""),
]


@pytest.mark.parametrize(("host", "ip", "allow", "refused"), ADDRESSES)
def test_refused_addresses(host: str, ip: str, allow: list[str], refused: str) -> None:
    reason = refused_address(host, ipaddress.ip_address(ip), allow)
    if refused:
        assert refused in reason
    else:
        assert reason == ""


def test_urls_in_records_carry_no_credentials() -> None:
    url = "https://user:s3cret@hooks.example.com:8443/in?token=abc"
    assert describe_url(url) == "https://hooks.example.com:8443/in"
