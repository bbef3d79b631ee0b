"""A nats-server with the documented permissions of deploy/nats/, for the tests.

The configuration is deploy/nats/vitals.conf followed by deploy/nats/accounts.example.conf,
read from the repository (not a copy). Only two things change, at test time: each bcrypt
placeholder becomes a plain-text test password, and the agent entry (between its BEGIN and
END lines) is repeated for each test host with `web-1` replaced, as the file tells operators.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from vitals_servers import NatsServer, free_port
from vitals_servers.embedded import nats_binary

# The repository's deploy/ folder, as operators read it (not the copy shipped in the package).
DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SERVICES_USER = "vitals-services"
SERVICES_PASSWORD = "services-secret"
TEMPLATE_HOST = "web-1"
_PLACEHOLDER_TEXT = 'password: "$2a$11$REPLACE_WITH_BCRYPT_HASH"'
_PLACEHOLDER = re.compile(re.escape(_PLACEHOLDER_TEXT))
_AGENT_BLOCK = re.compile(
    rf"^\s*# BEGIN agent {TEMPLATE_HOST}\n(.*?)^\s*# END agent {TEMPLATE_HOST}\n", re.M | re.S
)


def agent_user(host: str) -> str:
    return f"agent-{host}"


def agent_password(host: str) -> str:
    return f"pw-{host}"


def documented_config(hosts: list[str], nkey_hosts: dict[str, str] | None = None) -> str:
    """vitals.conf and the accounts example, with an agent user for each of `hosts`.

    `nkey_hosts` (host -> public user nkey) get the same entry with `nkey:` in place of
    the user and password, as docs/agent.md describes.
    """
    accounts = (DEPLOY / "nats" / "accounts.example.conf").read_text()
    found = _AGENT_BLOCK.search(accounts)
    assert found, "accounts.example.conf lost its BEGIN/END agent lines"
    block = found.group(1)
    assert block.count(TEMPLATE_HOST) >= 5, "the agent entry does not name its host throughout"
    entries = [
        _PLACEHOLDER.sub(f'password: "{agent_password(h)}"', block.replace(TEMPLATE_HOST, h))
        for h in hosts
    ]
    for h, public in (nkey_hosts or {}).items():
        login = f'user: "{agent_user(TEMPLATE_HOST)}", {_PLACEHOLDER_TEXT}'
        entry = block.replace(login, f'nkey: "{public}"')
        assert entry != block, "the agent entry's login is not where the tests expect it"
        entries.append(entry.replace(TEMPLATE_HOST, h))
    accounts = accounts[: found.start()] + "".join(entries) + accounts[found.end() :]
    accounts = _PLACEHOLDER.sub(f'password: "{SERVICES_PASSWORD}"', accounts)
    assert "REPLACE_WITH" not in accounts
    base = (DEPLOY / "nats" / "vitals.conf").read_text()
    return base + "\n" + accounts


class DocumentedNats(NatsServer):
    """A server run with `documented_config` for the given hosts."""

    def __init__(
        self,
        data_dir: Path,
        hosts: list[str],
        nkey_hosts: dict[str, str] | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(data_dir, port=port or free_port())
        self.config = data_dir / "documented.conf"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(documented_config(hosts, nkey_hosts))

    def command(self) -> list[str]:
        return [
            nats_binary(), "-c", str(self.config), "-a", self.host, "-p", str(self.port),
            "-js", "-sd", str(self.data_dir / "jetstream"),
        ]  # fmt: skip

    def services_url(self) -> str:
        return f"nats://{SERVICES_USER}:{SERVICES_PASSWORD}@{self.host}:{self.port}"

    def server_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class OperatorNats(NatsServer):
    """nats-server in operator mode whose only auth is what `vitals nats init` wrote.

    Enrolling and revoking hosts never edits this configuration.
    """

    def __init__(self, data_dir: Path, auth_dir: Path, port: int = 0) -> None:
        super().__init__(data_dir, port=port or free_port())
        self.config = data_dir / "server.conf"
        data_dir.mkdir(parents=True, exist_ok=True)
        # nats-server resolves an include relative to the including file.
        include = os.path.relpath(auth_dir / "auth.conf", data_dir)
        self.config.write_text(
            f'include "{include}"\njetstream {{ store_dir: "{data_dir / "js"}" }}\n'
        )

    def command(self) -> list[str]:
        return [nats_binary(), "-c", str(self.config), "-a", self.host, "-p", str(self.port)]
