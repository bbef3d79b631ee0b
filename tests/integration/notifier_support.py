"""Shared by the notifier's integration tests and benchmark: real HTTP receivers on
loopback, an independent Standard Webhooks verifier, alert events, control requests."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
import uvicorn

from tests.helpers import Processes, eventually
from vitals_core import control, events, subjects
from vitals_core.events import AlertEvent, Annotation
from vitals_servers import free_port

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A real HTTP server (uvicorn) on 127.0.0.1 answering each path from a script.

    `script[path]` lists the replies to give in turn; once used up, `default[path]` (or
    200) answers. Every request is recorded with its arrival time and the status given;
    one cut off before its body arrived whole (its sender was killed) is only counted.
    """

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.tls = tls
        self.port = free_port()
        self.requests: list[Request] = []
        self.aborted = 0  # requests whose sender went away before the body was whole
        self.script: dict[str, list[Reply]] = {}
        self.default: dict[str, Reply] = {}
        self.answer: Callable[[Request], Reply] | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def delivered(self, path: str) -> list[Request]:
        return [r for r in self.at(path) if 200 <= r.status < 300]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.aborted += 1  # the sender died mid-request: nothing was received
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = Request(scope["path"], headers, body, time.time())
        self.requests.append(request)
        queue = self.script.get(scope["path"])
        if self.answer is not None:
            reply = self.answer(request)
        elif queue:
            reply = queue.pop(0)
        else:
            reply = self.default.get(scope["path"], Reply())
        if reply.delay:
            await asyncio.sleep(reply.delay)
        request.status = reply.status
        await send({
            "type": "http.response.start",
            "status": reply.status,
            "headers": [(k.encode(), v.encode()) for k, v in reply.headers.items()],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})

    async def start(self) -> Receiver:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
            timeout_graceful_shutdown=1, access_log=False,
            ssl_certfile=self.tls[0] if self.tls else None,
            ssl_keyfile=self.tls[1] if self.tls else None,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await eventually(lambda: self._server is not None and self._server.started, timeout=10)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


def certificate(where: Path, *names: str) -> tuple[Path, Path]:
    """A self-signed certificate (and key) for `names` (DNS names or IP addresses)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = where / "cert.pem", where / "key.pem"
    san = ",".join(f"IP:{n}" if n[0].isdigit() else f"DNS:{n}" for n in names)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={names[0]}",
         "-addext", f"subjectAltName={san}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def verify(
    secrets: list[str], headers: dict[str, str], body: bytes, tolerance: float = 300
) -> bool:
    """Standard Webhooks verification, written from the specification.

    signed content = "{webhook-id}.{webhook-timestamp}.{body}"; key = base64 after `whsec_`;
    `webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256>`; any match passes;
    a timestamp outside the tolerance fails.
    """
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    header = headers.get("webhook-signature")
    if not (msg_id and stamp and header):
        return False
    if abs(time.time() - int(stamp)) > tolerance:
        return False
    content = f"{msg_id}.{stamp}.".encode() + body
    expected = []
    for secret in secrets:
        key = base64.b64decode(secret.split("_", 1)[1])
        expected.append(base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()))
    for signature in header.split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and any(hmac.compare_digest(value.encode(), e) for e in expected):
            return True
    return False


def alert(
    host: str = "gpu-1",
    rule: str = "cpu_high",
    event: str = "firing",
    severity: str = "critical",
    alert_id: str | None = None,
    **extra: Any,
) -> AlertEvent:
    now = time.time()
    fields: dict[str, Any] = {
        "ts": now,
        "id": uuid.uuid4().hex,
        "alert_id": alert_id or f"{rule}-{host}",
        "event": event,
        "rule": rule,
        "host": host,
        "severity": severity,
        "summary": f"{rule} on {host}",
        "started_at": now - 90,
    }
    fields.update(extra)
    return AlertEvent(**fields)


async def publish(nats_url: str, *items: AlertEvent | Annotation) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for item in items:
        if isinstance(item, AlertEvent):
            subject = subjects.alerts(item.host)
        else:
            subject = subjects.ANNOTATIONS
        await js.publish(subject, events.encode(item), headers={"Nats-Msg-Id": item.id})
    await nc.close()


async def ask(nats_url: str, verb: str, **request: Any) -> control.Reply:
    nc = await nats.connect(nats_url)
    try:
        msg = await nc.request(
            subjects.control(control.NOTIFIER, verb), json.dumps(request).encode(), timeout=5
        )
    finally:
        await nc.close()
    return control.decode_reply(msg.data)


RETRY_FAST = """
retry_base = 0.1
retry_max_delay = 0.4
retry_jitter = 0.0
retry_for = 60
ack_wait = 3
group_wait = 0
group_interval = 0
"""


def write_config(path: Path, notifier_toml: str) -> Path:
    path.write_text("[notifier]\n" + notifier_toml)
    return path


async def start_notifier(processes: Processes, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the notifier process and wait until it consumes."""
    before = processes.log("notifier").count("notifier ready")
    proc = processes.service("notifier", env)

    def ready() -> bool:
        if proc.poll() is not None:
            log = processes.log("notifier")
            raise AssertionError(f"notifier exited with {proc.returncode}:\n{log}")
        return processes.log("notifier").count("notifier ready") > before

    await eventually(ready, timeout=20)
    return proc
