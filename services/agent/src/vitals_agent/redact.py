"""Secrets out of command lines and messages before anything leaves the host.

Pure functions: `redact_argv(argv)` for a process's arguments, `redact_text(text)` for a
free-form string (a check's failure reason, a rewritten process title). Redaction errs on
the side of hiding: a harmless `monkey=banana` loses its value too.
"""

from __future__ import annotations

import os
import re

MASK = "***"
MAX_CMDLINE = 512

# Words that name a secret, as an option (`--db-password`), a key (`api_key=`) or a variable.
_SECRET_WORD = r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|key|credentials?|auth)"  # noqa: S105

# `--password=x`, `token=x`, `X_PASSWORD=x`, `?api_key=x&`, `password: x` (a YAML-ish arg).
_ASSIGNMENT = re.compile(rf"(?i)([\w.-]*{_SECRET_WORD}[\"']?\s*[=:]\s*)([^\s&;,]+)")
# `scheme://user:password@host`.
_URL_CREDENTIALS = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)([^\s/@]+)(@)")
# `Authorization: Bearer x`, `-H 'Authorization: Basic x'`.
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|basic|token)(\s+)([A-Za-z0-9._~+/=-]{8,})")
# An option naming a secret whose value is the next argument: `--password hunter2`.
_SECRET_OPTION = re.compile(rf"(?i)^--?[\w.-]*{_SECRET_WORD}$")
# A whole argument that assigns a secret: everything after `=` goes, spaces included.
_SECRET_NAME = re.compile(rf"(?i)^-{{0,2}}[\w.-]*{_SECRET_WORD}$")
# Inside one argument with spaces (a rewritten process title): `--password hunter2`.
_SECRET_OPTION_INLINE = re.compile(rf"(?i)(--?[\w.-]*{_SECRET_WORD}\s+)([^\s-]\S*)")

_MYSQL = ("mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlshow",
          "mysqlpump", "mysqlsh", "mysqlbinlog", "mariadb", "mariadb-dump", "mariadb-admin",
          "mariadb-import", "mariadb-check", "mariadb-show")  # fmt: skip
_REDIS = ("redis-cli", "redis-benchmark", "valkey-cli", "valkey-benchmark", "keydb-cli")
_MONGO = ("mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport",
          "mongostat", "mongotop", "mongofiles")  # fmt: skip
_LDAP = ("ldapsearch", "ldapmodify", "ldapadd", "ldapdelete", "ldapwhoami", "ldappasswd",
         "ldapcompare", "ldapmodrdn", "ldapexop")  # fmt: skip


class _Flags:
    """A client's password flags: `glued` takes the secret in the same word (`-pPW`),
    `apart` in the next word (`-a PW`), `after` hides what follows a separator in the next
    word (`-u user:PW`). The same letters mean other things to other programs (`ssh -p`
    is a port, `mysql -P` too), so they apply only after the client's own name."""

    def __init__(
        self, glued: str = "", apart: tuple[str, ...] = (), after: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.glued, self.apart, self.after = glued, apart, dict(after)


_CLIENTS: dict[str, _Flags] = {
    **{name: _Flags(glued="-p") for name in _MYSQL},
    **{name: _Flags(apart=("-a",)) for name in _REDIS},
    **{name: _Flags(glued="-p", apart=("-p",)) for name in _MONGO},
    **{name: _Flags(glued="-w", apart=("-w",)) for name in _LDAP},
    "sshpass": _Flags(glued="-p", apart=("-p",)),
    "curl": _Flags(after=(("-u", ":"), ("--user", ":"), ("-U", ":"), ("--proxy-user", ":"))),
    "smbclient": _Flags(after=(("-U", "%"), ("--user", "%"))),
}


def redact_text(text: str) -> str:
    """Hide secret values in a free-form string."""
    text = _URL_CREDENTIALS.sub(rf"\1{MASK}\3", text)
    text = _ASSIGNMENT.sub(_mask_assignment, text)
    text = _AUTH_HEADER.sub(rf"\1\2{MASK}", text)
    return _SECRET_OPTION_INLINE.sub(rf"\1{MASK}", text)


def _mask_assignment(match: re.Match[str]) -> str:
    return match.group(1) + (match.group(2) if match.group(2) == MASK else MASK)


def redact_argv(argv: list[str], limit: int = MAX_CMDLINE) -> str:
    """A process's arguments as one line, secrets hidden, at most `limit` characters.

    A rewritten title (`exec -a "mysql -pX"`, setproctitle) puts a whole command line, with
    spaces, in the first argument: it is split into words and judged like any argv. So is
    any later argument with spaces (`sh -c "redis-cli -a X"`).
    """
    if not argv:
        return ""
    if _has_space(argv[0]):
        argv = argv[0].split() + argv[1:]
    line = " ".join(_redact_words(argv))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)


def _redact_words(argv: list[str]) -> list[str]:
    out: list[str] = []
    client: _Flags | None = None
    hide_next = ""  # "*": the next word is a secret; else hide what follows that separator
    for i, arg in enumerate(argv):
        if hide_next and not arg.startswith("-"):
            head, sep, _ = arg.partition(hide_next)
            if hide_next == "*":
                out.append(MASK)
            else:  # `-u alice` alone makes curl prompt: nothing to hide
                out.append(f"{head}{sep}{MASK}" if sep else arg)
            hide_next = ""
            continue
        hide_next = "*" if i > 0 and "=" not in arg and _SECRET_OPTION.match(arg) else ""
        known = _CLIENTS.get(os.path.basename(arg))
        if known is not None:
            client = known  # its flags apply from here on (`sudo mysql -pX`)
            out.append(arg)
            continue
        if client is not None:
            if arg in client.apart:
                hide_next = "*"
                out.append(arg)
                continue
            if arg in client.after:
                hide_next = client.after[arg]
                out.append(arg)
                continue
            if client.glued and arg.startswith(client.glued) and len(arg) > len(client.glued):
                out.append(client.glued + MASK)
                continue
        name, eq, _ = arg.partition("=")
        if eq and _SECRET_NAME.match(name):
            out.append(f"{name}={MASK}")
            continue
        if i > 0 and _has_space(arg):
            # A command line inside one argument: its own words, then the text rules.
            out.append(redact_text(" ".join(_redact_words(arg.split()))))
            continue
        out.append(redact_text(arg))
    return out
