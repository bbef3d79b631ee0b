"""`vitals nats init|enroll|revoke`: per-host NATS credentials without editing the server config.

`init` makes an operator, a system account and the `VITALS` account (where the streams
live), and writes `auth.conf` for the server to include: operator mode with a `full`
resolver, so that any user JWT the account signs is accepted as it is. `enroll` signs one
host's user (publish only its own subjects, receive only on its own inbox prefix), `revoke`
re-signs the account with that host's keys in its revocation list and pushes the account
to the running servers through the system account, which closes the host's connections.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vitals import natsjwt
from vitals.natsjwt import Key
from vitals_core import subjects
from vitals_core.settings.alerter import parse_duration

ACCOUNT = "VITALS"
SYSTEM = "SYS"
CLAIMS_UPDATE = "$SYS.REQ.CLAIMS.UPDATE"


class EnrollError(RuntimeError):
    pass


class AuthDir:
    """The operator's folder: keys (secret), JWTs, the server include and issued creds."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

        self.keys = self.root / "keys"
        self.creds_dir = self.root / "creds"
        self.resolver_dir = self.root / "jwt"
        self.auth_conf = self.root / "auth.conf"
        self.operator_jwt = self.root / "operator.jwt"
        self.users_file = self.root / "users.json"

    def exists(self) -> bool:
        return (self.keys / "operator.nk").exists()

    def key(self, name: str) -> Key:
        path = self.keys / f"{name}.nk"
        if not path.exists():
            raise EnrollError(f"{path} is missing: run `vitals nats init --dir {self.root}` first")
        return Key(path.read_text().strip())

    def account_jwt(self, name: str) -> str:
        return (self.root / "accounts" / f"{name}.jwt").read_text().strip()

    def users(self) -> dict[str, list[dict[str, Any]]]:
        if not self.users_file.exists():
            return {}
        users: dict[str, list[dict[str, Any]]] = json.loads(self.users_file.read_text())
        return users

    def save_users(self, users: dict[str, list[dict[str, Any]]]) -> None:
        _write(self.users_file, json.dumps(users, indent=2, sort_keys=True) + "\n")

    def save_account(self, name: str, token: str) -> None:
        _write(self.root / "accounts" / f"{name}.jwt", token + "\n", secret=False)

    def write_auth_conf(self) -> None:
        system, vitals = self.key(SYSTEM).public, self.key(ACCOUNT).public
        text = (
            "# Written by `vitals nats init`; `vitals nats revoke` keeps the preload current.\n"
            "# Include it from the nats-server config (include paths are relative to that file).\n"
            f'operator: "{self.operator_jwt}"\n'
            f"system_account: {system}\n"
            "resolver: {\n"
            "  type: full\n"
            f'  dir: "{self.resolver_dir}"\n'
            "  allow_delete: false\n"
            '  interval: "2m"\n'
            '  timeout: "5s"\n'
            "}\n"
            "resolver_preload: {\n"
            f'  {system}: "{self.account_jwt(SYSTEM)}"\n'
            f'  {vitals}: "{self.account_jwt(ACCOUNT)}"\n'
            "}\n"
        )
        _write(self.auth_conf, text, secret=False)


def _write(path: Path, text: str, *, secret: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)


def init(root: Path, *, operator_name: str = "vitals", force: bool = False) -> AuthDir:
    d = AuthDir(root)
    if d.exists() and not force:
        raise EnrollError(f"{d.root} already holds an operator; --force replaces it")
    now = int(time.time())
    operator, system, account = Key.create("operator"), Key.create("account"), Key.create("account")
    for name, key in (("operator", operator), (SYSTEM, system), (ACCOUNT, account)):
        _write(d.keys / f"{name}.nk", key.seed + "\n")
    claims = natsjwt.operator_claims(operator_name, operator, system.public, now)
    _write(d.operator_jwt, natsjwt.encode(claims, operator) + "\n", secret=False)
    d.save_account(
        SYSTEM,
        natsjwt.encode(natsjwt.account_claims(SYSTEM, system, now, jetstream=False), operator),
    )
    d.save_account(
        ACCOUNT,
        natsjwt.encode(natsjwt.account_claims(ACCOUNT, account, now, jetstream=True), operator),
    )
    d.save_users({})
    d.resolver_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    d.write_auth_conf()
    # The services' user (everything in the account) and the system user that pushes updates.
    _issue(d, "services", account, "services", publish=None, subscribe=None, expires=0)
    _issue(d, "sys", system, "sys", publish=None, subscribe=None, expires=0)
    return d


def _issue(
    d: AuthDir,
    name: str,
    signer: Key,
    file_stem: str,
    *,
    publish: list[str] | None,
    subscribe: list[str] | None,
    expires: int,
    out: Path | None = None,
) -> tuple[Path, Key]:
    user = Key.create("user")
    claims = natsjwt.user_claims(
        name, user, int(time.time()), publish=publish, subscribe=subscribe, expires=expires
    )
    path = out or d.creds_dir / f"{file_stem}.creds"
    _write(path, natsjwt.creds(natsjwt.encode(claims, signer), user))
    return path, user


def enroll(root: Path, host: str, *, expires_in: str = "", out: Path | None = None) -> Path:
    """Sign credentials for one host's agent; returns the `.creds` file written."""
    d = AuthDir(root)
    subjects.token(host, "host")
    now = int(time.time())
    expires = now + int(parse_duration(expires_in)) if expires_in else 0
    path, user = _issue(
        d,
        f"agent-{host}",
        d.key(ACCOUNT),
        host,
        publish=subjects.agent_publish_allow(host),
        subscribe=subjects.agent_subscribe_allow(host),
        expires=expires,
        out=out,
    )
    users = d.users()
    users.setdefault(host, []).append({"public": user.public, "issued": now, "expires": expires})
    d.save_users(users)
    return path


def revoke(root: Path, host: str) -> str:
    """Revoke every key ever issued to `host`; returns the re-signed account JWT."""
    d = AuthDir(root)
    issued = d.users().get(host)
    if not issued:
        raise EnrollError(f"no credentials were issued to host {host!r} from {d.root}")
    claims = natsjwt.decode(d.account_jwt(ACCOUNT))
    revocations: dict[str, int] = dict(claims["nats"].get("revocations", {}))
    # A user JWT issued at or before its revocation time is refused.
    now = int(time.time())
    for entry in issued:
        revocations[entry["public"]] = now
    account = d.key(ACCOUNT)
    fresh = natsjwt.account_claims(
        ACCOUNT, account.public, now, jetstream=True, revocations=revocations
    )
    token = natsjwt.encode(fresh, d.key("operator"))
    d.save_account(ACCOUNT, token)
    d.write_auth_conf()
    return token


async def push(root: Path, url: str, wait_s: float = 5.0) -> str:
    """Send the current account JWT to the running servers; returns the server's answer."""
    import nats

    d = AuthDir(root)
    nc = await nats.connect(
        servers=[u.strip() for u in url.split(",")],
        user_credentials=str(d.creds_dir / "sys.creds"),
        connect_timeout=wait_s,
        allow_reconnect=False,
    )
    try:
        reply = await nc.request(CLAIMS_UPDATE, d.account_jwt(ACCOUNT).encode(), timeout=wait_s)
    finally:
        await nc.close()
    answer: dict[str, Any] = json.loads(reply.data)
    if "error" in answer:
        raise EnrollError(f"the server refused the account update: {answer['error']}")
    return str(answer.get("data", {}).get("message", "updated"))


def main(argv: Sequence[str]) -> int:
    """`vitals nats …`; argv excludes `nats`."""
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(
        prog="vitals nats", description="Per-host NATS credentials (decentralized auth)."
    )
    default_dir = Path(os.environ.get("VITALS_DATA_DIR", ".vitals")) / "nats-auth"
    parser.add_argument(
        "--dir", type=Path, default=default_dir, help=f"the operator folder ({default_dir})"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    p_init = verbs.add_parser("init", help="create the operator and accounts, write auth.conf")
    p_init.add_argument("--force", action="store_true", help="replace an existing operator")
    p_enroll = verbs.add_parser("enroll", help="write a .creds file for one host's agent")
    p_enroll.add_argument("host")
    p_enroll.add_argument("--expires", default="", help="e.g. 90d; default: never")
    p_enroll.add_argument("--out", type=Path, help="where to write it (creds/<host>.creds)")
    p_revoke = verbs.add_parser("revoke", help="revoke a host's credentials on the running servers")
    p_revoke.add_argument("host")
    p_revoke.add_argument(
        "--url",
        default=os.environ.get("VITALS_NATS_URL", ""),
        help="servers to tell ($VITALS_NATS_URL)",
    )
    args = parser.parse_args(list(argv))
    try:
        if args.verb == "init":
            d = init(args.dir, force=args.force)
            print(f"operator folder: {d.root} (keys/ is secret: keep it off the servers)")
            print(
                f'add to the nats-server config: include "{d.auth_conf}" (nats-server takes '
                "include paths relative to its config file: copy or link auth.conf beside it)"
            )
            print(
                f"services' credentials: {d.creds_dir / 'services.creds'} (VITALS_NATS_CREDS_FILE)"
            )
        elif args.verb == "enroll":
            print(enroll(args.dir, args.host, expires_in=args.expires, out=args.out))
        else:
            revoke(args.dir, args.host)
            print(f"revoked {args.host}; {AuthDir(args.dir).auth_conf} updated")
            if not args.url:
                print(
                    "no --url given: reload the servers (nats-server --signal reload) to apply it"
                )
            else:
                print(f"servers: {asyncio.run(push(args.dir, args.url))}")
    except (EnrollError, ValueError, OSError) as exc:
        print(f"vitals nats {args.verb}: {exc}")
        return 1
    return 0
