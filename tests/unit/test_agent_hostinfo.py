"""Host facts: read from the recorded host, re-sent only when something changed."""

from __future__ import annotations

import errno
import ssl
from pathlib import Path

import msgspec
import pytest

from vitals_agent.checks.outcome import describe
from vitals_agent.collectors.hostinfo import HostInfoCollector, same_facts, should_send


def test_facts_from_the_recorded_host(h100_fixtures: Path) -> None:
    collector = HostInfoCollector("gpu-1", {"role": "gpu-worker"}, 5.0, str(h100_fixtures / "proc"))
    info = collector.collect(now=1000.0, boot_time=1795727506.0)
    assert (info.host, info.cpu_model, info.cpu_count) == (
        "gpu-1",
        "Intel(R) Xeon(R) Processor",
        16,
    )
    assert info.labels == {"role": "gpu-worker"}
    assert info.boot_time == 1795727506.0
    assert info.kernel  # this machine's, the recording has none
    later = collector.collect(now=2000.0, boot_time=1795727506.0)
    assert same_facts(info, later)  # only the time differs: nothing to send
    rebooted = msgspec.structs.replace(later, boot_time=1795800000.0)
    assert not same_facts(info, rebooted)
    relabelled = msgspec.structs.replace(later, labels={"role": "api"})
    assert not same_facts(info, relabelled)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection refused"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/no/cmd"),
         "no such file or directory: /no/cmd"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "no route to host"),
        (ValueError("'x' is not host:port"), "ValueError: 'x' is not host:port"),
        (RuntimeError(), "RuntimeError"),
    ],
)  # fmt: skip
def test_failure_reasons(exc: BaseException, reason: str) -> None:
    assert describe(exc) == reason


def test_certificate_failures_say_so() -> None:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "self-signed certificate"
    assert describe(exc) == "TLS certificate not trusted: self-signed certificate"


def test_when_host_facts_are_sent(h100_fixtures: Path) -> None:
    collector = HostInfoCollector("gpu-1", {}, 5.0, str(h100_fixtures / "proc"))
    info = collector.collect(now=100.0, boot_time=1.0)
    moved = msgspec.structs.replace(info, cpu_count=8)
    cases = [
        (info, None, 0.0, 100.0, True),  # first time
        (info, info, 100.0, 160.0, False),  # nothing changed
        (moved, info, 100.0, 160.0, True),  # a CPU went offline
        (info, info, 100.0, 100.0 + 3600.0, True),  # an hour on: again, for late readers
    ]
    for current, last, sent_at, now, expected in cases:
        assert should_send(current, last, sent_at, now, resend_s=3600.0) is expected
