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

# Clients that take `-pPASSWORD` glued to the flag.
_MYSQL_STYLE = frozenset(
    {"mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlshow", "mysqlpump",
     "mysqlsh", "mysqlbinlog", "mariadb", "mariadb-dump", "mariadb-admin", "mariadb-import",
     "mariadb-check", "mariadb-show"}
)  # fmt: skip


def redact_text(text: str) -> str:
    """Hide secret values in a free-form string."""
    text = _URL_CREDENTIALS.sub(rf"\1{MASK}\3", text)
    text = _ASSIGNMENT.sub(_mask_assignment, text)
    text = _AUTH_HEADER.sub(rf"\1\2{MASK}", text)
    return _SECRET_OPTION_INLINE.sub(rf"\1{MASK}", text)


def _mask_assignment(match: re.Match[str]) -> str:
    return match.group(1) + (match.group(2) if match.group(2) == MASK else MASK)


def redact_argv(argv: list[str], limit: int = MAX_CMDLINE) -> str:
    """A process's arguments as one line, secrets hidden, at most `limit` characters."""
    if not argv:
        return ""
    mysql_style = os.path.basename(argv[0]) in _MYSQL_STYLE
    out: list[str] = []
    hide_next = False
    for i, arg in enumerate(argv):
        if hide_next and not arg.startswith("-"):
            out.append(MASK)
            hide_next = False
            continue
        hide_next = i > 0 and "=" not in arg and bool(_SECRET_OPTION.match(arg))
        if mysql_style and arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--"):
            out.append("-p" + MASK)
            continue
        name, eq, _ = arg.partition("=")
        if eq and _SECRET_NAME.match(name):
            out.append(f"{name}={MASK}")
            continue
        out.append(redact_text(arg))
    line = " ".join(out)
    return line if len(line) <= limit else line[: limit - 1] + "…"
