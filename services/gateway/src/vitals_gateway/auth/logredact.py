"""Keep tokens out of the gateway's log.

uvicorn logs every websocket handshake with its path and query string, even with the
access log off, and at debug level the websockets library logs the request's headers.
Clients may put tokens in either (`?token=`, `?access_token=`, `Authorization`, the
refresh cookie), so every line the gateway writes loses its query strings and the values
of credential headers.
"""

from __future__ import annotations

import logging
import re

# A query string: `?` right after a path character, up to a space or a quote.
_QUERY = re.compile(r"(?<=[\w/.\-~%])\?[\w%.\-~=&+][^\s\"'<>]*")
# A credential header as the websockets library logs it at debug level (`< name: value`).
_HEADER = re.compile(
    r"(?im)^(?P<lead>[<>] )(?P<name>authorization|cookie|set-cookie|x-vitals-csrf"
    r"|sec-websocket-protocol):.*$"
)
_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "websockets", "websockets.server")


def redact(text: str) -> str:
    """`text` without query strings and without credential header values."""
    text = _HEADER.sub(lambda m: f"{m['lead']}{m['name']}: [redacted]", text)
    return _QUERY.sub("?[redacted]", text)


class RedactQueries(logging.Filter):
    """Rewrites each record's message (arguments merged in) without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_FILTER = RedactQueries()


def install() -> None:
    """Filter every handler of the root logger, and the loggers uvicorn writes to."""
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
