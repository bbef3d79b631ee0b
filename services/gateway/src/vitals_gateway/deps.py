"""The shared state and the request dependencies: who is calling, and may they."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from nats.aio.client import Client
from nats.js import JetStreamContext

from vitals_core.settings import Settings
from vitals_gateway.auth import access
from vitals_gateway.auth.audit import Audit
from vitals_gateway.auth.authenticator import Authenticator, AuthError, Principal
from vitals_gateway.auth.ratelimit import LoginLimiter, TokenBucket, retry_after
from vitals_gateway.auth.revocation import Revocations
from vitals_gateway.auth.sessions import Sessions
from vitals_gateway.auth.tokens import ApiTokens
from vitals_gateway.cache import TtlCache
from vitals_gateway.counters import Counters
from vitals_gateway.healthwatch import AlerterWatch
from vitals_gateway.ingest.alertstore import AlertStore
from vitals_gateway.live.hub import LiveHub
from vitals_gateway.relay import Relay
from vitals_gateway.storage.redisconn import RedisClient
from vitals_gateway.storage.store import WindowStore

SCRAPE = Principal("prometheus", "viewer", "scrape-token", float("inf"), "api")


@dataclass
class State:
    settings: Settings
    nc: Client
    js: JetStreamContext
    redis: RedisClient
    store: WindowStore
    alerts: AlertStore
    auth: Authenticator
    tokens: ApiTokens
    revocations: Revocations
    audit: Audit
    logins: LoginLimiter
    sessions: Sessions
    relay: Relay
    live: LiveHub
    cache: TtlCache
    limiter: TokenBucket
    counters: Counters = field(default_factory=Counters)
    web_dir: Path | None = None
    alerter_watch: AlerterWatch | None = None


oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_state(request: Request) -> State:
    state: State = request.app.state.vitals
    return state


StateDep = Annotated[State, Depends(get_state)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def unauthorized(detail: str = "missing or invalid bearer token") -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def authorize(
    request: Request, state: StateDep, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    """Authenticate the bearer token and apply `access.required` to this route and method."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    need = access.required(request.method, path)
    if not token:
        raise unauthorized()
    scrape = state.settings.gateway.scrape_token
    if need == "scrape" and scrape and hmac.compare_digest(token.encode(), scrape.encode()):
        return SCRAPE
    try:
        user = await state.auth.verify(token)
    except AuthError:
        raise unauthorized() from None
    wait = state.limiter.take(user.jti, time.monotonic())
    if wait > 0:
        state.counters.inc("requests_limited")
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many requests for this token; slow down",
            headers={"Retry-After": retry_after(wait)},
        )
    if not access.allows(need, user.role, user.kind):
        await state.audit.record(
            user.name,
            f"denied {request.method} {path}",
            ok=False,
            role=user.role,
            address=client_address(request),
        )
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this needs the admin role")
    return user


UserDep = Annotated[Principal, Depends(authorize)]
