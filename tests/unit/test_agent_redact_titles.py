"""Rewritten process titles and the common clients' password flags."""

from __future__ import annotations

import pytest

from vitals_agent.collectors.processes import display_name
from vitals_agent.redact import MASK, redact_argv

M = MASK


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # `exec -a TITLE sleep 100`: the title is argv[0], with spaces.
        (["mysql -pS3cret --password=x", "100"], f"mysql -p{M} --password={M} 100"),
        (["mysql -u root -pS3cret"], f"mysql -u root -p{M}"),
        (["redis-cli -a pw"], f"redis-cli -a {M}"),
        (["redis-cli -h cache --pass pw ping"], f"redis-cli -h cache --pass {M} ping"),
        (["/usr/bin/valkey-cli -a pw"], f"/usr/bin/valkey-cli -a {M}"),
        (["mongosh -u admin -p pw db"], f"mongosh -u admin -p {M} db"),
        (["mongodump -ppw"], f"mongodump -p{M}"),
        (["psql postgresql://app:pw@db/app"], f"psql postgresql://app:{M}@db/app"),
        (["psql host=db user=app password=pw"], f"psql host=db user=app password={M}"),
        (["worker --token abc --api-key k"], f"worker --token {M} --api-key {M}"),
        (["sshpass -p pw ssh host"], f"sshpass -p {M} ssh host"),
        (["ldapsearch -x -D cn=admin -w pw"], f"ldapsearch -x -D cn=admin -w {M}"),
        (["curl -u alice:pw https://x"], f"curl -u alice:{M} https://x"),
        (["smbclient -U alice%pw //srv/share"], f"smbclient -U alice%{M} //srv/share"),
        # Plain argv: the client flags hold too, behind wrappers.
        (["redis-cli", "-a", "pw", "ping"], f"redis-cli -a {M} ping"),
        (["sudo", "mysql", "-uroot", "-pS3cret"], f"sudo mysql -uroot -p{M}"),
        (["env", "A=1", "redis-cli", "-a", "pw"], f"env A=1 redis-cli -a {M}"),
        (["mongosh", "--password", "pw"], f"mongosh --password {M}"),
        (["curl", "--user", "alice:pw", "https://x"], f"curl --user alice:{M} https://x"),
        # A shell's command string is a command line of its own.
        (["sh", "-c", "mysql -u root -pS3cret shop"], f"sh -c mysql -u root -p{M} shop"),
        (["bash", "-c", "redis-cli -a pw ping"], f"bash -c redis-cli -a {M} ping"),
        # What must not change: -p and -a and -w mean other things elsewhere.
        (["postgres: app db idle"], "postgres: app db idle"),
        (["ssh -p 2222 host"], "ssh -p 2222 host"),
        (["tar", "-a", "-cf", "x.tgz", "d"], "tar -a -cf x.tgz d"),
        (["mysql", "-P", "3307", "-h", "db"], "mysql -P 3307 -h db"),
        (["curl", "-u", "alice", "https://x"], "curl -u alice https://x"),
        (["gunicorn: worker [app]"], "gunicorn: worker [app]"),
    ],
)
def test_titles_and_client_flags(argv: list[str], expected: str) -> None:
    assert redact_argv(argv) == expected


@pytest.mark.parametrize(
    ("comm", "expected"),
    [("mysql -pS3cret", "mysql"), ("redis-cli -a pw", "redis-cli"), ("sleep", "sleep")],
)
def test_a_rewritten_kernel_name_keeps_only_its_first_word(comm: str, expected: str) -> None:
    assert display_name(comm, [comm]) == expected
