"""A small NATS connection for the agent: log in, publish to JetStream, read the answers.

The services use nats-py. The agent does not: nats-py loads OpenSSL whether or not TLS is
used, plus JetStream's API models, and runs a flusher task per connection. That was about
6 MB of the agent's 29 MB and a third of a millisecond of each 1 s cycle (docs/agent.md).
The agent needs one thing from the bus, a request that waits for its answer, so this
module gives exactly that over one `asyncio.Protocol`, with the wire format in `natsproto`.

No reconnecting here: a lost connection fails what is waiting with `Disconnected`, and the
publisher opens a new one (with backoff) and resends what was not acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any, NamedTuple

from vitals_agent import __version__, natsproto
from vitals_agent.natsproto import Login, Msg, Server, ServerInfo
from vitals_core.tlsfiles import client_context

PING_INTERVAL_S = 20.0
# Pings the server may leave unanswered before the connection counts as dead.
MAX_PINGS_OUT = 2
# Requests waiting at once: the publisher's window (agent.publish_window, at most this).
MAX_PENDING = 1024
NO_RESPONDERS = 503
SUBSCRIPTION = 1

# Called once per request: with the answer, or with the error that ended the wait.
OnReply = Callable[[Msg | None, Exception | None], None]


class NatsError(Exception):
    """The bus could not do what was asked; the message says what happened."""


class ConnectError(NatsError):
    """The server could not be reached, or refused the login."""


class Disconnected(NatsError):
    """The connection closed while a request waited."""


class NoResponders(NatsError):
    """No one listens on the subject: for JetStream, no stream takes it."""


class PayloadTooLarge(NatsError):
    """The message is larger than the server accepts (its `max_payload`)."""


class ServerError(NatsError):
    """The server answered `-ERR` (a permission violation, say) for this request."""


def login_from(
    server: Server, user: str, password: str, nkey_seed_file: str, creds_file: str
) -> Login:
    """The settings' credentials; those in the URL count when the settings give none."""
    jwt, seed = "", b""
    if creds_file:
        with open(creds_file) as f:
            jwt, seed = natsproto.read_creds(f.read())
    elif nkey_seed_file:
        with open(nkey_seed_file, "rb") as f:
            seed = f.read().strip()
    return Login(
        user=user or server.user,
        password=password if user else server.password,
        token=server.token,
        nkey_seed=seed,
        jwt=jwt,
    )


def sign_nonce(seed: bytes, nonce: bytes) -> tuple[bytes, str]:
    # Imported when used: only agents that log in with an nkey carry the signing library.
    import nkeys  # type: ignore[import-untyped]

    pair = nkeys.from_seed(bytearray(seed))
    try:
        return pair.sign(nonce), pair.public_key.decode()
    finally:
        pair.wipe()


class TlsFiles(NamedTuple):
    """`nats.tls_*`: authorities to trust, a client certificate and its key (any may be "")."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


class Connection(asyncio.Protocol):
    """One connection to one server. Use `Connection.open`, then `request`, then `close`."""

    def __init__(
        self,
        server: Server,
        loop: asyncio.AbstractEventLoop,
        inbox_prefix: str = "_INBOX",
        tls: TlsFiles | None = None,
    ) -> None:
        self.server = server
        self.tls = tls if tls is not None and any(tls) else None
        self.info = ServerInfo()
        self._loop = loop
        self._parser = natsproto.Parser()
        self._transport: asyncio.Transport | None = None
        # Answers come back under the agent's own prefix, the one its permissions allow.
        self._inbox = f"{inbox_prefix}.{os.urandom(8).hex()}."
        self._next = 0
        # reply subject -> (the subject asked, who wants the answer)
        self._pending: dict[str, tuple[str, OnReply]] = {}
        self._handshake: asyncio.Future[Any] | None = None
        self._pings_out = 0
        self._ping_timer: asyncio.TimerHandle | None = None
        self.closed: asyncio.Future[None] = loop.create_future()
        self.error: str = ""
        # Told of every INFO after the login: the cluster changed, or the server is leaving.
        self.on_info: Callable[[ServerInfo], None] | None = None

    # --- opening ------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        server: Server,
        login: Login,
        name: str,
        seconds: float,
        inbox_prefix: str = "_INBOX",
        tls: TlsFiles | None = None,
    ) -> Connection:
        loop = asyncio.get_running_loop()
        conn = cls(server, loop, inbox_prefix, tls)
        try:
            async with asyncio.timeout(seconds):
                await conn._open(login, name)
        except TimeoutError:
            conn.close()
            raise ConnectError(f"{server}: no answer within {seconds:g}s") from None
        except OSError as exc:
            conn.close()
            raise ConnectError(f"{server}: {exc.strerror or exc}") from None
        except (NatsError, natsproto.ProtocolError, ValueError) as exc:
            conn.close()
            raise ConnectError(f"{server}: {exc}") from None
        return conn

    async def _open(self, login: Login, name: str) -> None:
        self._handshake = self._loop.create_future()
        await self._loop.create_connection(lambda: self, self.server.host, self.server.port)
        self.info = natsproto.parse_info(await self._handshake)
        # TLS files configured: always TLS, never a silent fallback to plain text.
        if self.server.tls or self.tls is not None or self.info.tls_required:
            await self._start_tls()
        sign = sign_nonce if login.nkey_seed else None
        self._handshake = self._loop.create_future()
        self._write(
            natsproto.connect_command(self.info, login, name, __version__, sign)
            + b"PING\r\n"
            + f"SUB {self._inbox}* {SUBSCRIPTION}\r\n".encode()
        )
        await self._handshake  # PONG, or -ERR when the login is refused
        self._handshake = None
        self._ping_timer = self._loop.call_later(PING_INTERVAL_S, self._ping)

    async def _start_tls(self) -> None:
        if not self.server.tls and self.tls is None:
            raise ConnectError(f"{self.server} requires TLS: use a tls:// URL")
        if not self.info.tls_required and not self.info.tls_available:
            raise ConnectError(f"{self.server} does not offer TLS, and TLS is configured")
        files = self.tls or TlsFiles()
        try:
            # Loads OpenSSL only now: an agent that needs no TLS never does (tls.py).
            context = client_context(files.ca_file, files.cert_file, files.key_file, "nats")
        except ImportError:
            raise ConnectError("TLS is needed but this agent was started without it") from None
        assert self._transport is not None
        transport = await self._loop.start_tls(
            self._transport, self, context, server_hostname=self.server.host
        )
        if transport is None:
            raise ConnectError(f"{self.server}: the TLS handshake did not complete")
        self._transport = transport

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            ops = self._parser.feed(data)
        except natsproto.ProtocolError as exc:
            self._fail(str(exc))
            return
        for op in ops:
            if isinstance(op, Msg):
                self._answer(op)
            elif isinstance(op, natsproto.Ping):
                self._write(b"PONG\r\n")
            elif isinstance(op, natsproto.Pong):
                self._pings_out = 0
                self._settle_handshake(None)
            elif isinstance(op, natsproto.Info):
                self._on_info(op.data)
            elif isinstance(op, natsproto.Err):
                self._on_error(op.text)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._ping_timer is not None:
            self._ping_timer.cancel()
        reason = self.error or (f"connection lost: {exc}" if exc else "connection closed")
        self.error = reason
        self._settle_handshake(Disconnected(reason))
        pending, self._pending = self._pending, {}
        for _, on_reply in pending.values():
            on_reply(None, Disconnected(reason))
        if not self.closed.done():
            self.closed.set_result(None)

    # --- requests -----------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._transport is not None and self._handshake is None

    def send(
        self,
        subject: str,
        payload: bytes,
        on_reply: OnReply,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Send a message with a reply subject; `on_reply` gets the answer or the failure.

        Returns the reply subject, for `forget` when the caller stops waiting.
        """
        if not self.is_open:
            raise Disconnected(self.error or "not connected")
        block = natsproto.header_block(headers) if headers else b""
        if len(block) + len(payload) > self.info.max_payload:
            raise PayloadTooLarge(
                f"{subject}: {len(block) + len(payload)} bytes, the server accepts "
                f"{self.info.max_payload}"
            )
        if len(self._pending) >= MAX_PENDING:
            raise NatsError(f"{MAX_PENDING} requests already wait for an answer")
        self._next += 1
        reply = f"{self._inbox}{self._next}"
        self._pending[reply] = (subject, on_reply)
        if block:
            self._write(natsproto.hpub(subject, reply, block, payload))
        else:
            self._write(natsproto.pub(subject, reply, payload))
        return reply

    def forget(self, reply: str) -> None:
        self._pending.pop(reply, None)

    async def request(
        self,
        subject: str,
        payload: bytes,
        seconds: float,
        headers: dict[str, str] | None = None,
    ) -> Msg:
        """Send a message with a reply subject and wait for the first answer."""
        fut: asyncio.Future[Msg] = self._loop.create_future()

        def settle(msg: Msg | None, error: Exception | None) -> None:
            if fut.done():
                return
            if error is not None:
                fut.set_exception(error)
            else:
                assert msg is not None
                fut.set_result(msg)

        reply = self.send(subject, payload, settle, headers)
        try:
            async with asyncio.timeout(seconds):
                return await fut
        finally:
            self.forget(reply)

    def close(self, reason: str = "") -> None:
        """Close after what is written; `reason` becomes the connection's `error`."""
        if reason and not self.error:
            self.error = reason
        if self._transport is not None:
            self._transport.close()

    # --- inside -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def _answer(self, msg: Msg) -> None:
        waiting = self._pending.pop(msg.subject, None)
        if waiting is None:
            return  # a late answer to a request given up on
        if msg.headers and natsproto.header_status(msg.headers) == NO_RESPONDERS:
            waiting[1](None, NoResponders(f"no one answers on {waiting[0]}"))
        else:
            waiting[1](msg, None)

    def _on_info(self, data: bytes) -> None:
        try:
            info = natsproto.parse_info(data)
        except natsproto.ProtocolError as exc:
            self._fail(str(exc))
            return
        if self._handshake is not None and self.info.server_id == "":
            self._settle_handshake(data)
        else:
            # Later INFOs announce cluster changes; the limits may have changed with them.
            self.info = info
            if self.on_info is not None:
                self.on_info(info)

    def _on_error(self, text: str) -> None:
        # Before the login completes every -ERR is fatal; after, a permission violation
        # names the subject and the server keeps the connection, so only its requests fail.
        if self._handshake is not None:
            self._settle_handshake(ConnectError(text))
            return
        if text.lower().startswith("permissions violation") and '"' in text:
            subject = text.split('"')[1]
            refused = [r for r, (sent_to, _) in self._pending.items() if sent_to == subject]
            for reply in refused:
                _, on_reply = self._pending.pop(reply)
                on_reply(None, ServerError(text))
            return
        self._fail(text)  # anything else: the server closes the connection after it

    def _settle_handshake(self, result: object) -> None:
        fut = self._handshake
        if fut is None or fut.done():
            return
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)

    def _fail(self, reason: str) -> None:
        self.error = reason
        if self._transport is not None:
            self._transport.abort()

    def _ping(self) -> None:
        if self._pings_out >= MAX_PINGS_OUT:
            self._fail(f"no answer to {MAX_PINGS_OUT} pings: the connection is stale")
            return
        self._pings_out += 1
        self._write(b"PING\r\n")
        self._ping_timer = self._loop.call_later(PING_INTERVAL_S, self._ping)


async def wait_closed(conn: Connection, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await asyncio.shield(conn.closed)
