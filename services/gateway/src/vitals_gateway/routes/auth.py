"""Login, refresh, logout (bearer tokens, and the dashboard's session cookie), and API
tokens for scripts."""

from __future__ import annotations

import contextlib
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from vitals_gateway import models
from vitals_gateway.auth.authenticator import AuthError, Principal
from vitals_gateway.auth.ratelimit import retry_after
from vitals_gateway.auth.sessions import COOKIE, COOKIE_PATH, CSRF_HEADER, cross_site
from vitals_gateway.auth.tokens import display
from vitals_gateway.deps import (
    State,
    StateDep,
    UserDep,
    authorize,
    client_address,
    oauth2,
    unauthorized,
)
from vitals_gateway.openapi import ref, responds

router = APIRouter(prefix="/auth", tags=["auth"])
protected = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(authorize)])


def _json(model: models.Model) -> Response:
    return Response(models.encode(model), media_type="application/json")


def _errors(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    schema = {"application/json": {"schema": ref(models.ErrorDetail)}}
    return {code: {"description": text, "content": schema} for code, text in described.items()}


def _cross_site(request: Request, state: State) -> str | None:
    return cross_site(
        request.headers, request.headers.get("host"), state.settings.gateway.ws_origins
    )


def _set_session(request: Request, state: State, response: Response, token: str, ttl: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=ttl,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _refused(request: Request, code: int, detail: str, clear: bool) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else {}
    response = JSONResponse({"detail": detail}, status_code=code, headers=headers)
    if clear:
        _clear_session(request, response)
    return response


def _by_cookie(request: Request, bearer: str | None) -> str | None:
    """The session cookie when this request means to use it: the dashboard sends the CSRF
    header; a request with neither header nor bearer token is checked (and refused) too."""
    cookie = request.cookies.get(COOKIE)
    if cookie is not None and (request.headers.get(CSRF_HEADER) or not bearer):
        return cookie
    return None


async def _bearer_user(state: State, bearer: str | None) -> Principal:
    if not bearer:
        raise unauthorized()
    try:
        return await state.auth.verify(bearer)
    except AuthError:
        raise unauthorized() from None


@router.post(
    "/token",
    responses={
        **responds(models.TokenResponse, description="A bearer token"),
        401: {"description": "Wrong username or password."},
        429: {"description": "Too many failed logins from this address."},
    },
)
async def token(
    request: Request, state: StateDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Response:
    """Log in with the OAuth2 password form (`username`, `password`). With the
    `X-Vitals-CSRF` header (the dashboard), also set the session cookie."""
    address = client_address(request)
    username = form.username
    browser = bool(request.headers.get(CSRF_HEADER))
    if browser and (problem := _cross_site(request, state)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=problem)
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
    now = time.time()
    access, ttl = state.auth.issue(username, role, now)
    response = _json(models.TokenResponse(access_token=access, expires_in=ttl))
    if browser:
        previous = request.cookies.get(COOKIE)
        if previous is not None:
            await state.sessions.revoke(previous)
        cookie, record = await state.sessions.create(username, role, now, now)
        _set_session(request, state, response, cookie, state.sessions.seconds_left(record, now))
    return response


@router.post(
    "/refresh",
    responses={
        **responds(models.TokenResponse),
        **_errors(
            {
                400: "An API token: those are not refreshed.",
                401: "No valid token or session cookie, or the session is over.",
                403: "The session cookie came without the CSRF header, or from another site.",
            }
        ),
    },
)
async def refresh(
    request: Request, state: StateDep, bearer: Annotated[str | None, Depends(oauth2)]
) -> Response:
    """A new token for the same session. With a bearer token, that token is revoked. With
    the dashboard's session cookie and the `X-Vitals-CSRF` header, the cookie is rotated."""
    now = time.time()
    cookie = _by_cookie(request, bearer)
    if cookie is not None:
        return await _refresh_by_cookie(request, state, cookie, bearer, now)
    user = await _bearer_user(state, bearer)
    if user.kind != "user":
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="API tokens are not refreshed")
    if now >= user.session_start + state.settings.auth.session_max:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="the session is over: log in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    access, ttl = state.auth.issue(user.name, user.role, now, session_start=user.session_start)
    await state.revocations.revoke(user.jti, user.expires_at)
    return _json(models.TokenResponse(access_token=access, expires_in=ttl))


async def _refresh_by_cookie(
    request: Request, state: State, cookie: str, bearer: str | None, now: float
) -> Response:
    if problem := _cross_site(request, state):
        return _refused(request, status.HTTP_403_FORBIDDEN, problem, clear=False)
    rotated = await state.sessions.rotate(cookie, now)
    if rotated is None:
        return _refused(request, 401, "the session is over: log in again", clear=True)
    new_cookie, record = rotated
    role = await state.auth.role_of(record.name)
    if role is None:
        await state.sessions.revoke(new_cookie)
        return _refused(request, 401, "the session is over: log in again", clear=True)
    access, ttl = state.auth.issue(record.name, role, now, session_start=record.session_start)
    if bearer:
        # The page's previous token, when it still had one, is replaced: revoke it.
        with contextlib.suppress(AuthError):
            old = await state.auth.verify(bearer)
            if old.kind == "user" and old.name == record.name:
                await state.revocations.revoke(old.jti, old.expires_at)
    response = _json(models.TokenResponse(access_token=access, expires_in=ttl))
    _set_session(request, state, response, new_cookie, state.sessions.seconds_left(record, now))
    return response


@router.post(
    "/logout",
    status_code=204,
    responses=_errors(
        {
            400: "An API token: those are revoked with DELETE /auth/api-tokens/{id}.",
            401: "No valid token or session cookie.",
            403: "The session cookie came without the CSRF header, or from another site.",
        }
    ),
)
async def logout(
    request: Request, state: StateDep, bearer: Annotated[str | None, Depends(oauth2)]
) -> Response:
    """Revoke the token presented (its websockets are closed) and the session cookie."""
    cookie = _by_cookie(request, bearer)
    if cookie is not None and (problem := _cross_site(request, state)):
        return _refused(request, status.HTTP_403_FORBIDDEN, problem, clear=False)
    who: tuple[str, str] | None = None
    if bearer or cookie is None:
        try:
            user = await _bearer_user(state, bearer)
        except HTTPException:
            if cookie is None:
                raise
        else:
            if user.kind != "user":
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST,
                    detail="API tokens are revoked with DELETE /auth/api-tokens/{id}",
                )
            await state.revocations.revoke(user.jti, user.expires_at)
            who = (user.name, user.role)
    if cookie is not None:
        record = await state.sessions.revoke(cookie)
        if record is not None and who is None:
            who = (record.name, record.role)
    if who is None:
        return _refused(request, 401, "missing or invalid bearer token", clear=True)
    await state.audit.record(who[0], "logout", role=who[1], address=client_address(request))
    response = Response(status_code=204)
    if cookie is not None:
        _clear_session(request, response)
    return response


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
