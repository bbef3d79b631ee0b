"""The part of the NATS client protocol the agent speaks, as pure functions and a parser.

The agent only publishes to JetStream and reads the acknowledgements, so it needs a handful
of operations: INFO, CONNECT, PING/PONG, SUB, HPUB/PUB, MSG/HMSG, +OK and -ERR. The
connection that uses them is `natsclient`; everything here is I/O-free and table-tested.
Reference: the NATS client protocol (docs.nats.io, "Client Protocol").
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import msgspec

from vitals_core import safedecode

CRLF = b"\r\n"
DEFAULT_PORT = 4222
# A control line longer than this is not NATS: the parser gives up rather than buffer it.
MAX_CONTROL_LINE = 64 * 1024
# A header block's first line: the version, then an optional status code and description.
HEADER_VERSION = b"NATS/1.0"


class ProtocolError(Exception):
    """The server sent something that is not the NATS protocol."""


class Server(NamedTuple):
    host: str
    port: int
    tls: bool
    # From the URL: `nats://user:password@host` or `nats://token@host`.
    user: str = ""
    password: str = ""
    token: str = ""

    def __str__(self) -> str:
        scheme = "tls" if self.tls else "nats"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def parse_servers(urls: str) -> list[Server]:
    """`nats.url`: one URL or several separated by commas; a bare `host:port` is nats://."""
    servers = []
    for raw in urls.split(","):
        raw = raw.strip()
        if not raw:
            continue
        parts = urlsplit(raw if "://" in raw else f"nats://{raw}")
        if parts.scheme not in ("nats", "tls"):
            raise ValueError(f"nats.url: {raw!r} must be nats://host:port or tls://host:port")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ValueError(f"nats.url: {raw!r} has a port that is not a number") from None
        if not parts.hostname:
            raise ValueError(f"nats.url: {raw!r} names no host")
        user = unquote(parts.username or "")
        password = unquote(parts.password or "")
        token = user if user and parts.password is None else ""
        servers.append(
            Server(parts.hostname, port, parts.scheme == "tls", "" if token else user,
                   password, token)
        )  # fmt: skip
    if not servers:
        raise ValueError("nats.url is empty: set VITALS_NATS_URL or run through `vitals up`")
    return servers


class ServerInfo(msgspec.Struct, kw_only=True):
    """The fields of the server's INFO the agent uses; the others are ignored."""

    server_id: str = ""
    max_payload: int = 1024 * 1024
    headers: bool = False
    tls_required: bool = False
    tls_available: bool = False  # TLS offered but not required (`allow_non_tls`)
    # The cluster's servers for clients (`host:port`), and lame-duck mode: leave soon.
    connect_urls: list[str] = []
    ldm: bool = False
    nonce: str = ""
    auth_required: bool = False


_info_decoder = msgspec.json.Decoder(ServerInfo)


def parse_info(data: bytes) -> ServerInfo:
    try:
        return safedecode.decode(_info_decoder, data)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"INFO is not valid: {exc}") from None


class Login(NamedTuple):
    """What the agent logs in with, from the settings (and the URL for user, password, token)."""

    user: str = ""
    password: str = ""
    token: str = ""
    nkey_seed: bytes = b""  # an nkey seed, `SU...`
    jwt: str = ""  # a user JWT (from a .creds file), sent with the nkey signature


def read_creds(text: str) -> tuple[str, bytes]:
    """A `.creds` file: the user JWT and the nkey seed between their BEGIN/END markers."""
    jwt = _between(text, "BEGIN NATS USER JWT")
    seed = _between(text, "BEGIN USER NKEY SEED")
    if not jwt or not seed:
        raise ValueError("the credentials file holds no user JWT and nkey seed")
    return jwt, seed.encode()


def _between(text: str, marker: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if marker in line:
            for candidate in lines[i + 1 :]:
                if candidate.strip():
                    return candidate.strip()
    return ""


# Signs a server's nonce with an nkey seed: (signature, public key). See `natsclient`.
Sign = Callable[[bytes, bytes], tuple[bytes, str]]


def connect_command(
    info: ServerInfo, login: Login, name: str, version: str, sign: Sign | None = None
) -> bytes:
    """CONNECT, with the credentials that fit what the server asked for."""
    fields: dict[str, object] = {
        "verbose": False,
        "pedantic": False,
        "lang": "python3",
        "version": version,
        "protocol": 1,
        "name": name,
        "headers": True,
        "no_responders": True,
        "echo": False,
    }
    if login.nkey_seed and info.nonce and sign is not None:
        signature, public = sign(login.nkey_seed, info.nonce.encode())
        fields["sig"] = binascii.b2a_base64(signature, newline=False).decode()
        if login.jwt:
            fields["jwt"] = login.jwt
        else:
            fields["nkey"] = public
    if login.user:
        fields["user"] = login.user
        fields["pass"] = login.password
    elif login.token:
        fields["auth_token"] = login.token
    return b"CONNECT " + msgspec.json.encode(fields) + CRLF


def hpub(subject: str, reply: str, headers: bytes, payload: bytes) -> bytes:
    """A message with headers: `HPUB <subject> <reply> <header bytes> <total bytes>`."""
    total = len(headers) + len(payload)
    return b"".join((
        f"HPUB {subject} {reply} {len(headers)} {total}\r\n".encode(),
        headers, payload, CRLF,
    ))  # fmt: skip


def pub(subject: str, reply: str, payload: bytes) -> bytes:
    return b"".join((f"PUB {subject} {reply} {len(payload)}\r\n".encode(), payload, CRLF))


def header_block(headers: dict[str, str]) -> bytes:
    lines = [HEADER_VERSION]
    for key, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in key or "\n" in key or ":" in key:
            raise ValueError(f"header {key!r} has characters a header cannot hold")
        lines.append(f"{key}: {value}".encode())
    return CRLF.join(lines) + CRLF + CRLF


def header_status(headers: bytes) -> int:
    """The status code of an HMSG's header block (503: no responders), or 0."""
    first = headers.split(CRLF, 1)[0]
    parts = first.split(None, 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


class Msg(NamedTuple):
    subject: str
    sid: int
    reply: str
    headers: bytes  # the raw header block; empty for MSG
    payload: bytes


class Ping(NamedTuple):
    pass


class Pong(NamedTuple):
    pass


class Ok(NamedTuple):
    pass


class Err(NamedTuple):
    text: str


class Info(NamedTuple):
    data: bytes


Op = Msg | Ping | Pong | Ok | Err | Info


class Parser:
    """Bytes from the server in, whole operations out; partial input waits for the rest."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Op]:
        buf = self._buf
        buf += data
        ops: list[Op] = []
        pos = 0
        while True:
            end = buf.find(CRLF, pos)
            if end < 0:
                if len(buf) - pos > MAX_CONTROL_LINE:
                    raise ProtocolError("a control line without end")
                break
            line = bytes(buf[pos:end])
            head = line[:4].upper()
            if head == b"MSG " or head == b"HMSG":
                frame = _msg_frame(line)
                start = end + 2
                stop = start + frame.total
                if len(buf) < stop + 2:
                    break  # the payload has not all arrived
                if buf[stop : stop + 2] != CRLF:
                    raise ProtocolError("a message payload does not end where its size says")
                split = start + frame.header_len
                ops.append(Msg(frame.subject, frame.sid, frame.reply, bytes(buf[start:split]),
                               bytes(buf[split:stop])))  # fmt: skip
                pos = stop + 2
                continue
            pos = end + 2
            if head == b"PING":
                ops.append(Ping())
            elif head == b"PONG":
                ops.append(Pong())
            elif head == b"+OK":
                ops.append(Ok())
            elif head == b"-ERR":
                ops.append(Err(line[4:].strip().strip(b"'").decode("utf-8", "replace")))
            elif head == b"INFO":
                ops.append(Info(line[5:].strip()))
            elif line:
                raise ProtocolError(f"unknown operation {line[:40]!r}")
        del buf[:pos]
        return ops


class _Frame(NamedTuple):
    subject: str
    sid: int
    reply: str
    header_len: int
    total: int  # header and payload bytes that follow the line


def _msg_frame(line: bytes) -> _Frame:
    """`MSG <subject> <sid> [reply] <size>` or `HMSG <subject> <sid> [reply] <hdr> <total>`."""
    parts = line.split()
    try:
        if parts[0].upper() == b"HMSG":
            if len(parts) not in (5, 6):
                raise ValueError
            header_len, total = int(parts[-2]), int(parts[-1])
            reply = parts[3] if len(parts) == 6 else b""
        else:
            if len(parts) not in (4, 5):
                raise ValueError
            header_len, total = 0, int(parts[-1])
            reply = parts[3] if len(parts) == 5 else b""
        sid = int(parts[2])
    except (ValueError, IndexError):
        raise ProtocolError(f"a message line that cannot be read: {line[:80]!r}") from None
    if header_len < 0 or total < header_len:
        raise ProtocolError(f"a message line with impossible sizes: {line[:80]!r}")
    return _Frame(parts[1].decode(), sid, reply.decode(), header_len, total)


class PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False


class ApiErrorBody(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class ApiReply(msgspec.Struct):
    """A JetStream API answer: an acknowledgement, or an error."""

    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: ApiErrorBody | None = None


_reply_decoder = msgspec.json.Decoder(ApiReply)


def parse_api_reply(payload: bytes) -> ApiReply:
    try:
        return safedecode.decode(_reply_decoder, payload)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"a JetStream answer that is not JSON: {exc}") from None
