"""Secrets never leave the host in a command line or a failure reason."""

from __future__ import annotations

import pytest

from vitals_agent.redact import MASK, redact_argv, redact_text


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["python", "app.py", "--password=hunter2"], f"python app.py --password={MASK}"),
        (["python", "app.py", "--password", "hunter2"], f"python app.py --password {MASK}"),
        (["pg_dump", "--db-password", "s3cret", "db"], f"pg_dump --db-password {MASK} db"),
        (["mysql", "-uroot", "-phunter2", "shop"], f"mysql -uroot -p{MASK} shop"),
        (["/usr/bin/mysqldump", "-ps3cret"], f"/usr/bin/mysqldump -p{MASK}"),
        (["mysql", "-p", "shop"], "mysql -p shop"),  # -p alone prompts; shop is the database
        (["ssh", "-p2222", "host"], "ssh -p2222 host"),  # -p is a port elsewhere
        (["worker", "token=abc123"], f"worker token={MASK}"),
        (["worker", "--api-key=abc", "--secret", "x"], f"worker --api-key={MASK} --secret {MASK}"),
        (["worker", "key=abc"], f"worker key={MASK}"),
        (["worker", "secret=abc"], f"worker secret={MASK}"),
        (["env", "DB_PASSWORD=two words", "run"], f"env DB_PASSWORD={MASK} run"),
        (["env", "X_PASSWORD=hunter2"], f"env X_PASSWORD={MASK}"),
        (
            ["celery", "--broker", "redis://user:hunter2@cache:6379/0"],
            f"celery --broker redis://user:{MASK}@cache:6379/0",
        ),
        (["psql", "postgresql://app:pw@db/app"], f"psql postgresql://app:{MASK}@db/app"),
        (["curl", "https://api/x?token=abc&page=2"], f"curl https://api/x?token={MASK}&page=2"),
        (
            ["curl", "-H", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9"],
            f"curl -H Authorization: Bearer {MASK}",
        ),
        (["sleep", "60"], "sleep 60"),
        (["uvicorn", "app:api", "--port", "8000"], "uvicorn app:api --port 8000"),
        (["app", "--password", "--verbose"], "app --password --verbose"),  # no value to hide
        ([], ""),
    ],
)
def test_redact_argv(argv: list[str], expected: str) -> None:
    assert redact_argv(argv) == expected


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("postgres: app --password hunter2 idle", "hunter2"),  # a rewritten process title
        ("cannot connect to postgresql://u:hunter2@db:5432/x", "hunter2"),
        ("password: hunter2", "hunter2"),
        ("AUTH refused for token=hunter2", "hunter2"),
    ],
)
def test_redact_text(text: str, hidden: str) -> None:
    out = redact_text(text)
    assert hidden not in out
    assert MASK in out


def test_long_command_lines_are_cut_after_redaction() -> None:
    argv = ["python", "--password=hunter2", "x" * 1000]
    line = redact_argv(argv, limit=64)
    assert len(line) == 64
    assert "hunter2" not in line
    assert line.endswith("…")
