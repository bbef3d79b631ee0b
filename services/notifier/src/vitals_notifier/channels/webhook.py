"""Signed webhooks over HTTP(S), with the address checked and pinned at send time.

The host is resolved once; every address it resolves to must be allowed; the request then
goes to that address with the name in the Host header and TLS SNI, so DNS cannot change
between the check and the connection. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from urllib.parse import unquote, urlsplit

import httpx

from vitals_core.settings.notifier import ReceiverSettings, refused_address
from vitals_notifier import __version__, payload, retry, signing
from vitals_notifier.channels import Outcome
from vitals_notifier.records import Notification

BODY_SNIPPET = 200
BODY_LIMIT = 64 * 1024


class Refused(Exception):
    """The address may not be reached; the message says why (no secret in it)."""


def classify(status: int, retry_after: str | None, snippet: str, now: float) -> Outcome:
    """2xx delivered; 410 disables; 408/429/5xx/3xx retried; other 4xx not."""
    if 200 <= status < 300:
        return Outcome(ok=True, status=status)
    error = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if status == 410:
        return Outcome(ok=False, status=status, error=error, gone=True)
    if 400 <= status < 500 and status not in (408, 429):
        return Outcome(ok=False, status=status, error=error)
    if 300 <= status < 400:
        error = f"HTTP {status}: redirects are not followed"
    return Outcome(
        ok=False,
        retry=True,
        status=status,
        error=error,
        retry_after=retry.parse_retry_after(retry_after, now),
    )


def describe_url(url: str) -> str:
    """The URL without credentials or query, fit for logs and records."""
    p = urlsplit(url)
    port = f":{p.port}" if p.port else ""
    return f"{p.scheme}://{p.hostname}{port}{p.path}"


class WebhookChannel:
    kind = "webhook"

    def __init__(
        self,
        receiver: ReceiverSettings,
        *,
        timeout: float,
        concurrency: int,
        allow_private: list[str],
        external_url: str = "",
    ) -> None:
        self.receiver = receiver
        self.timeout = timeout
        self.allow = allow_private
        self.external_url = external_url
        parts = urlsplit(receiver.url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = self.port == (443 if self.scheme == "https" else 80)
        self.host_header = self._bracket(self.host) + ("" if default_port else f":{self.port}")
        auth = None
        if parts.username is not None:
            auth = httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
        verify: ssl.SSLContext | bool = True
        if receiver.tls_ca_file:
            verify = ssl.create_default_context(cafile=receiver.tls_ca_file)
        self.client = httpx.AsyncClient(
            verify=verify,
            auth=auth,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    @staticmethod
    def _bracket(host: str) -> str:
        return f"[{host}]" if ":" in host else host

    async def resolve(self) -> str:
        """The address to connect to; raises `Refused` if any address of the host is not allowed."""
        try:
            addresses = [ipaddress.ip_address(self.host)]
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM
            )
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise OSError(f"{self.host} has no address")
        for ip in addresses:
            reason = refused_address(self.host, ip, self.allow)
            if reason:
                raise Refused(reason)
        return str(addresses[0])

    async def send(self, n: Notification, now: float) -> Outcome:
        body = payload.encode(n, self.receiver.format, self.external_url)
        try:
            ip = await self.resolve()
        except Refused as exc:
            return Outcome(ok=False, refused=True, error=f"refused: {exc}")
        except OSError as exc:
            return Outcome(ok=False, retry=True, error=f"cannot resolve {self.host}: {exc}")
        headers = {
            **self.receiver.headers,
            "host": self.host_header,
            "content-type": "application/json",
            "user-agent": f"Vitals-Notifier/{__version__}",
            **signing.headers(self.receiver.secrets, n.id, int(now), body),
        }
        url = f"{self.scheme}://{self._bracket(ip)}:{self.port}{self.path}"
        try:
            async with asyncio.timeout(self.timeout):
                async with self.client.stream(
                    "POST", url, content=body, headers=headers,
                    extensions={"sni_hostname": self.host},
                ) as response:  # fmt: skip
                    snippet = await _read_some(response)
        except TimeoutError:
            return Outcome(ok=False, retry=True, error=f"no answer within {self.timeout:g}s")
        except httpx.HTTPError as exc:
            return Outcome(ok=False, retry=True, error=_describe(exc))
        return classify(response.status_code, response.headers.get("retry-after"), snippet, now)

    async def close(self) -> None:
        await self.client.aclose()


async def _read_some(response: httpx.Response) -> str:
    """The start of the answer's body, for the attempt record.

    A short body is read to its end so the connection can be reused; a long one is cut
    off (and its connection closed) after `BODY_LIMIT` bytes.
    """
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= BODY_LIMIT:
            break
    if 200 <= response.status_code < 300:
        return ""
    text = data[:BODY_SNIPPET].decode("utf-8", "replace")
    return " ".join(text.split())


def _describe(exc: httpx.HTTPError) -> str:
    kind = type(exc).__name__
    text = str(exc)
    # httpx puts the request URL in some messages; the URL may carry a token.
    return f"{kind}: {text}" if text and "://" not in text else kind
