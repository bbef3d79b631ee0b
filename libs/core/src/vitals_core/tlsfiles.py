"""TLS for the services' connections: NATS (nats-py) and Redis (redis-py), from the settings.

`ssl` is imported only when a context is built, so that the agent, which shares this
package, does not load OpenSSL without TLS (services/agent/src/vitals_agent/tls.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vitals_core.settings import NatsSettings, RedisSettings

if TYPE_CHECKING:
    import ssl


class TlsConfigError(ValueError):
    """A TLS setting names a file that cannot be used; the message says which and why."""


def uses_tls(ca_file: str, cert_file: str, key_file: str) -> bool:
    return bool(ca_file or cert_file or key_file)


def client_context(ca_file: str, cert_file: str, key_file: str, what: str) -> ssl.SSLContext:
    """A client context that verifies the server (against `ca_file` when given, else the
    system's authorities) and presents `cert_file`/`key_file` when given."""
    import ssl

    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(f"{what}.tls_ca_file {ca_file!r}: {_reason(exc)}") from None
    if cert_file:
        try:
            context.load_cert_chain(cert_file, key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(
                f"{what}.tls_cert_file/tls_key_file {cert_file!r}, {key_file!r}: {_reason(exc)}"
            ) from None
    return context


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)


def nats_tls(settings: NatsSettings) -> ssl.SSLContext | None:
    """nats-py's `tls` option: a context when any `nats.tls_*` is set, else None."""
    s = settings
    if not uses_tls(s.tls_ca_file, s.tls_cert_file, s.tls_key_file):
        return None
    return client_context(s.tls_ca_file, s.tls_cert_file, s.tls_key_file, "nats")


def redis_tls_kwargs(settings: RedisSettings) -> dict[str, Any]:
    """redis-py connection options for `redis.tls_*`: pass them with the `rediss://` URL.

    Empty without TLS settings. With them, the URL must be `rediss://` (a plain `redis://`
    connection would silently not use them).
    """
    s = settings
    if not uses_tls(s.tls_ca_file, s.tls_cert_file, s.tls_key_file):
        return {}
    if not s.url.startswith("rediss://"):
        raise TlsConfigError("redis.tls_* is set but redis.url is not a rediss:// URL")
    # Fail at start with the file's name, rather than at the first connection.
    client_context(s.tls_ca_file, s.tls_cert_file, s.tls_key_file, "redis")
    kwargs: dict[str, Any] = {"ssl_cert_reqs": "required", "ssl_check_hostname": True}
    if s.tls_ca_file:
        kwargs["ssl_ca_certs"] = s.tls_ca_file
    if s.tls_cert_file:
        kwargs["ssl_certfile"] = s.tls_cert_file
        kwargs["ssl_keyfile"] = s.tls_key_file
    return kwargs
