"""The live stream's protocol, routing and per-client queue."""

from __future__ import annotations

import pytest

from vitals_gateway.live.subscriptions import (
    BadMessage,
    ClientQueue,
    Subscription,
    Verdict,
    coalesce_key,
    nats_subjects,
    parse_client_message,
    route,
    trim_metrics,
)


def test_queue_coalesces_a_series_keeping_its_place_and_age() -> None:
    q = ClientQueue(bound=3)
    assert q.put("metrics|a|", b"a1", now=0.0) is Verdict.QUEUED
    assert q.put(None, b"alert1", now=1.0) is Verdict.QUEUED
    assert q.put("metrics|a|", b"a2", now=2.0) is Verdict.COALESCED
    assert q.lag(now=5.0) == 5.0  # a1's slot has waited since 0
    assert q.put("metrics|b|", b"b1", now=3.0) is Verdict.QUEUED
    assert q.put(None, b"alert2", now=4.0) is Verdict.OVERFLOW  # alerts are never replaced
    assert q.put("metrics|b|", b"b2", now=4.0) is Verdict.COALESCED  # full, but replaceable
    assert [q.take(), q.take(), q.take(), q.take()] == [b"a2", b"alert1", b"b2", None]
    assert q.lag(now=9.0) == 0.0


def test_alerts_are_queued_each_time() -> None:
    q = ClientQueue(bound=10)
    for i in range(5):
        assert q.put(None, b"%d" % i, now=float(i)) is Verdict.QUEUED
    assert len(q) == 5


SUBJECTS = [
    # subscriptions -> core NATS subjects
    ([Subscription(metrics=["cpu"])], {"vitals.metrics.*"}),
    ([Subscription(hosts=["a", "b"], metrics=["*"], alerts=True)],
     {"vitals.metrics.a", "vitals.metrics.b", "vitals.alerts.a", "vitals.alerts.b"}),
    ([Subscription(hosts=["a"], metrics=["cpu"]), Subscription(metrics=["memory"])],
     {"vitals.metrics.*"}),
    ([Subscription(hosts=["a"], checks=True, apps=True, annotations=True)],
     {"vitals.health.a.*", "vitals.app.a.*", "vitals.annotations"}),
    ([Subscription(hosts=["a"])], set()),
    ([], set()),
]  # fmt: skip


@pytest.mark.parametrize(("subs", "expected"), SUBJECTS)
def test_nats_subjects_are_the_fewest_that_carry_everything(
    subs: list[Subscription], expected: set[str]
) -> None:
    assert nats_subjects(subs) == expected


ROUTES = [
    ("vitals.metrics.web-1", ("metrics", "web-1", "")),
    ("vitals.app.web-1.api", ("app", "web-1", "api")),
    ("vitals.health.web-1.http", ("health", "web-1", "http")),
    ("vitals.alerts.web-1", ("alerts", "web-1", "")),
    ("vitals.annotations", ("annotations", "", "")),
    ("vitals.other.x", None),
    ("nope", None),
]


@pytest.mark.parametrize(("subject", "expected"), ROUTES)
def test_route(subject: str, expected: tuple[str, str, str] | None) -> None:
    assert route(subject) == expected


def test_coalesce_keys() -> None:
    assert coalesce_key("metrics", "a", "") == "metrics|a|"
    assert coalesce_key("app", "a", "api") != coalesce_key("app", "a", "worker")
    assert coalesce_key("alerts", "a", "") is None
    assert coalesce_key("annotations", "", "") is None


def test_trim_keeps_the_envelope_and_the_families_asked_for() -> None:
    event = {"kind": "metrics", "v": 1, "ts": 1.0, "host": "a", "seq": 3, "interval": 1.0,
             "cpu": {"percent": 5}, "memory": {"percent": 7}, "gpus": []}  # fmt: skip
    assert trim_metrics(event, frozenset({"cpu"})) == {
        "kind": "metrics", "v": 1, "ts": 1.0, "host": "a", "seq": 3, "interval": 1.0,
        "cpu": {"percent": 5},
    }  # fmt: skip


BAD_MESSAGES = [
    ("not json", "malformed"),
    ('{"subscribe": {"metrics": ["cpuu"]}}', "unknown metric families"),
    ('{"subscribe": {"hosts": ["a.b"]}}', "not usable in a subject"),
    ('{"subscribe": {"colour": "red"}}', "unknown field"),
    ('{"type": "pong"}', r"Invalid enum value 'pong' - at `\$.type`"),
]


@pytest.mark.parametrize(("text", "message"), BAD_MESSAGES)
def test_bad_client_messages_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(BadMessage, match=message):
        parse_client_message(text)


def test_a_good_first_message() -> None:
    m = parse_client_message('{"token": "t", "subscribe": {"hosts": ["a"], "metrics": ["*"]}}')
    assert m.token == "t"
    assert m.subscribe is not None
    assert m.subscribe.families() is None
    assert Subscription(metrics=["cpu", "net"]).families() == frozenset({"cpu", "net"})
