"""Requests to the alerter and the notifier over NATS request/reply (`vitals_core.control`).

No responder, or no answer in time, is a `ControlError` with status 503 and a sentence
saying which service; a refusal keeps the service's reason (404 when it says not found).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import nats.errors
from nats.aio.client import Client

from vitals_core import control, subjects

log = logging.getLogger("vitals.gateway.relay")

MAX_ERROR = 500


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Relay:
    def __init__(self, nc: Client, timeout: float) -> None:
        self.nc = nc
        self.timeout = timeout

    async def ask(self, service: str, verb: str, request: msgspec.Struct) -> Any:
        """The reply's `data`, or `ControlError`."""
        subject = subjects.control(service, verb)
        try:
            msg = await self.nc.request(subject, control.encode(request), timeout=self.timeout)
        except nats.errors.NoRespondersError:
            raise ControlError(
                503, f"the {service} is not running: nothing answers its requests on the bus"
            ) from None
        except (TimeoutError, nats.errors.TimeoutError):
            raise ControlError(
                503, f"the {service} did not answer within {self.timeout:g} s"
            ) from None
        try:
            reply = control.decode_reply(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable reply from the %s to %s: %s", service, verb, exc)
            raise ControlError(502, f"the {service} sent a reply the gateway cannot read") from None
        if not reply.ok:
            error = (reply.error or f"the {service} refused the request")[:MAX_ERROR]
            raise ControlError(404 if reply.not_found else 422, error)
        return reply.data
