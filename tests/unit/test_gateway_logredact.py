"""What the gateway's log filter removes, and what it leaves alone."""

from __future__ import annotations

import logging

import pytest

from vitals_gateway.auth.logredact import RedactQueries, redact

CASES = [
    (
        '127.0.0.1:5 - "WebSocket /admin/system/stream?token=eyJa.b.c" [accepted]',
        '127.0.0.1:5 - "WebSocket /admin/system/stream?[redacted]" [accepted]',
    ),
    (
        '1.2.3.4:9 - "GET /x?a=1&access_token=vt_1_2 HTTP/1.1" 200',
        '1.2.3.4:9 - "GET /x?[redacted] HTTP/1.1" 200',
    ),
    (
        "< GET /admin/system/stream?token=abc HTTP/1.1",
        "< GET /admin/system/stream?[redacted] HTTP/1.1",
    ),
    ("< authorization: Bearer eyJa.b.c", "< authorization: [redacted]"),
    ("< Cookie: vitals_refresh=abc", "< Cookie: [redacted]"),
    ("cannot listen on 127.0.0.1:8000 (in use?)", "cannot listen on 127.0.0.1:8000 (in use?)"),
    ("what? nothing here", "what? nothing here"),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_filter_rewrites_a_record_with_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [%s]',
        ("127.0.0.1:5", "/s?token=secret", "accepted"),
        None,
    )
    assert RedactQueries().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "WebSocket /s?[redacted]" [accepted]'
