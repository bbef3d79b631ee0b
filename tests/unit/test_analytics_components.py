from __future__ import annotations

import pytest

from vitals_core.analytics.components import classify, components
from vitals_core.events import Cpu, Memory, MetricSample, Processes, TopProcess
from vitals_core.settings import ComponentGroup
from vitals_core.settings.analytics import AnalyticsSettings, default_components

GiB = 2**30
GROUPS = default_components()


def proc(pid: int, name: str, cpu: float = 0.0, rss: int = 0, cmdline: str = "") -> TopProcess:
    return TopProcess(
        pid=pid,
        name=name,
        cpu_percent=cpu,
        rss=rss,
        memory_percent=100.0 * rss / (64 * GiB),
        cmdline=cmdline,
    )


@pytest.mark.parametrize(
    ("name", "cmdline", "group"),
    [
        ("python3", "python3 -m vitals_gateway", "vitals"),
        ("vitals-agent", "", "vitals"),
        ("redis-server", "redis-server *:6379", "redis"),
        ("valkey-server", "", "redis"),
        ("nats-server", "nats-server -js", "nats"),
        ("postgres", "postgres: checkpointer", "database"),
        ("python3", "celery -A app worker", "workers"),
        ("python", "python transcribe.py --model whisper-large", "workers"),
        ("gunicorn", "gunicorn app:api", "api"),
        ("python3", "python3 -m uvicorn api:app", "api"),
        ("sshd", "sshd: /usr/sbin/sshd -D", "other"),
        ("Postgres", "", "database"),  # names match case-insensitively
    ],
)
def test_classify(name: str, cmdline: str, group: str) -> None:
    assert classify(proc(1, name, cmdline=cmdline), GROUPS) == group


def sample(procs_cpu: list[TopProcess], procs_mem: list[TopProcess]) -> MetricSample:
    return MetricSample(
        ts=1.0,
        host="h1",
        seq=1,
        interval=5.0,
        cpu=Cpu(percent=60.0, count=16),  # 9.6 cores' worth busy
        memory=Memory(total=64 * GiB, used=32 * GiB, available=32 * GiB, percent=50.0),
        processes=Processes(total=181, top_cpu=procs_cpu, top_memory=procs_mem),
    )


def test_usage_per_group_counts_each_process_once() -> None:
    w1 = proc(10, "python3", 390.0, 6 * GiB, "python3 worker.py --model whisper")
    w2 = proc(11, "python3", 350.0, 6 * GiB, "python3 worker.py --model whisper")
    api = proc(20, "uvicorn", 80.0, 1 * GiB)
    db = proc(30, "postgres", 40.0, 8 * GiB)
    ssh = proc(40, "sshd", 1.0, GiB // 4)
    s = sample([w1, w2, api, db], [db, w1, w2, ssh])  # pids in both lists count once
    hc = components("h1", s, GROUPS)
    usage = {u.component: u for u in hc.components}
    assert [u.component for u in hc.components] == [*(g.name for g in GROUPS), "other"]
    workers = usage["workers"]
    assert (workers.processes, workers.cpu_percent, workers.rss) == (2, 740.0, 12 * GiB)
    assert workers.host_cpu_share == pytest.approx(740.0 / 16)
    assert workers.memory_percent == pytest.approx(100.0 * 12 / 64)
    assert usage["api"].cpu_percent == 80.0
    assert usage["database"].rss == 8 * GiB
    assert usage["other"].names == ["sshd"]
    assert usage["redis"].processes == 0
    assert hc.coverage is not None
    assert hc.coverage.processes_seen == 5
    assert hc.coverage.processes_total == 181
    assert hc.coverage.cpu_seen_percent == pytest.approx(100.0 * 861.0 / 960.0, abs=0.1)
    assert hc.coverage.memory_seen_percent == pytest.approx(100.0 * 21.25 / 32, abs=0.1)


def test_configured_groups_and_order_decide() -> None:
    groups = [
        ComponentGroup(name="transcriber", patterns=["cmdline:*transcribe*"]),
        ComponentGroup(name="python", patterns=["python*"]),
    ]
    assert classify(proc(1, "python3", cmdline="python3 transcribe.py"), groups) == "transcriber"
    assert classify(proc(2, "python3", cmdline="python3 other.py"), groups) == "python"


def test_a_host_without_process_data() -> None:
    s = sample([], [])
    s.processes = None
    hc = components("h1", s, GROUPS)
    assert all(u.processes == 0 for u in hc.components)
    assert components("h2", None, GROUPS).components == []


def test_settings_validate_groups() -> None:
    with pytest.raises(ValueError, match="at least one pattern"):
        ComponentGroup(name="x", patterns=[])
    with pytest.raises(ValueError, match="unique"):
        AnalyticsSettings(components=[ComponentGroup(name="a", patterns=["a"])] * 2)
