"""Login, refresh, logout, and API tokens for scripts."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from vitals_gateway import models
from vitals_gateway.deps import StateDep, UserDep, authorize, client_address
from vitals_gateway.openapi import responds
from vitals_gateway.ratelimit import retry_after
from vitals_gateway.tokens import display

router = APIRouter(prefix="/auth", tags=["auth"])
protected = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(authorize)])


def _json(model: models.Model) -> Response:
    return Response(models.encode(model), media_type="application/json")


@router.post(
    "/token",
    responses={
        **responds(models.TokenResponse, description="A bearer token"),
        401: {"description": "Wrong username or password."},
    },
)
async def token(
    request: Request, state: StateDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Response:
    """Log in with the OAuth2 password form (`username`, `password`)."""
    address = client_address(request)
    username = form.username
    wait = await state.logins.wait(username, address)
    if wait is not None:
        state.counters.inc("logins_limited")
        await state.audit.record(
            username, "login", ok=False, address=address, detail="refused: too many failures"
        )
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed logins; try again later",
            headers={"Retry-After": retry_after(wait)},
        )
    role = await state.auth.check_password(username, form.password)
    if role is None:
        state.counters.inc("logins_failed")
        await state.logins.failed(username, address)
        await state.audit.record(
            username, "login", ok=False, address=address, detail="wrong username or password"
        )
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await state.logins.succeeded(username, address)
    await state.audit.record(username, "login", role=role, address=address)
    access, ttl = state.auth.issue(username, role)
    return _json(models.TokenResponse(access_token=access, expires_in=ttl))


@protected.post("/refresh", responses=responds(models.TokenResponse))
async def refresh(request: Request, state: StateDep, user: UserDep) -> Response:
    """A new token for the same session; the one presented is revoked."""
    if user.kind != "user":
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="API tokens are not refreshed")
    now = time.time()
    if now >= user.session_start + state.settings.auth.session_max:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="the session is over: log in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    access, ttl = state.auth.issue(user.name, user.role, now, session_start=user.session_start)
    await state.revocations.revoke(user.jti, user.expires_at)
    return _json(models.TokenResponse(access_token=access, expires_in=ttl))


@protected.post("/logout", status_code=204, responses=responds(models.ErrorDetail))
async def logout(request: Request, state: StateDep, user: UserDep) -> Response:
    """Revoke the token presented; its websockets are closed."""
    if user.kind != "user":
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail="API tokens are revoked with DELETE /auth/api-tokens/{id}",
        )
    await state.revocations.revoke(user.jti, user.expires_at)
    await state.audit.record(user.name, "logout", role=user.role, address=client_address(request))
    return Response(status_code=204)


@protected.get("/me", responses=responds(models.Me))
async def me(user: UserDep) -> Response:
    """Who the token belongs to."""
    expires = user.expires_at if user.expires_at != float("inf") else None
    return _json(models.Me(name=user.name, role=user.role, kind=user.kind, expires_at=expires))


class ApiTokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="What the token is for.")
    role: Literal["admin", "viewer"] = "viewer"
    expires_in: float | None = Field(
        None, gt=0, le=10 * 365 * 86400, description="Seconds until it expires; none: never."
    )


@protected.post("/api-tokens", responses=responds(models.ApiTokenCreated, 422))
async def create_api_token(
    request: Request, state: StateDep, user: UserDep, body: ApiTokenRequest
) -> Response:
    """A long-lived token for a script; the token itself is shown only in this answer."""
    expires_at = time.time() + body.expires_in if body.expires_in else None
    secret, record = await state.tokens.create(body.name, body.role, user.name, expires_at)
    await state.audit.record(
        user.name,
        "api_token.create",
        role=user.role,
        target=f"{record.id} ({record.name}, {record.role})",
        address=client_address(request),
    )
    return _json(models.ApiTokenCreated(token=secret, **display(record)))  # type: ignore[arg-type]


@protected.get("/api-tokens", responses=responds(models.ApiTokenList))
async def list_api_tokens(state: StateDep) -> Response:
    """Every API token (without its secret)."""
    records = await state.tokens.list()
    infos = [models.ApiTokenInfo(**display(r)) for r in records]  # type: ignore[arg-type]
    return _json(models.ApiTokenList(tokens=infos))


@protected.delete(
    "/api-tokens/{token_id}", status_code=204, responses=responds(models.ErrorDetail, 404)
)
async def revoke_api_token(
    request: Request,
    state: StateDep,
    user: UserDep,
    token_id: Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]+$")],
) -> Response:
    """Revoke an API token, on every replica at once."""
    record = await state.tokens.revoke(token_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no API token {token_id!r}")
    await state.revocations.revoke_api_token(token_id)
    await state.audit.record(
        user.name,
        "api_token.revoke",
        role=user.role,
        target=f"{record.id} ({record.name})",
        address=client_address(request),
    )
    return Response(status_code=204)
