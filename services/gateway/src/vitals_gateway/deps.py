"""Request dependencies: the shared state and the caller's identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from nats.aio.client import Client
from redis.asyncio import Redis

from vitals_core.settings import Settings
from vitals_gateway.auth import Authenticator, AuthError, Principal
from vitals_gateway.counters import Counters


@dataclass
class State:
    settings: Settings
    nc: Client
    redis: Redis
    auth: Authenticator
    counters: Counters = field(default_factory=Counters)


oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_state(request: Request) -> State:
    state: State = request.app.state.vitals
    return state


StateDep = Annotated[State, Depends(get_state)]


async def current_user(state: StateDep, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="missing or invalid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if not token:
        raise unauthorized
    try:
        return state.auth.verify(token)
    except AuthError:
        raise unauthorized from None


UserDep = Annotated[Principal, Depends(current_user)]


async def admin_user(user: UserDep) -> Principal:
    if user.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this needs the admin role")
    return user


AdminDep = Annotated[Principal, Depends(admin_user)]
