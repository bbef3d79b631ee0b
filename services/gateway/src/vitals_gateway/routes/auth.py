from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from vitals_gateway.deps import StateDep

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: float


@router.post("/token", response_model=TokenResponse)
async def token(
    state: StateDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse:
    role = await state.auth.authenticate(form.username, form.password)
    if role is None:
        state.counters.inc("logins_failed")
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    access, ttl = state.auth.issue(form.username, role)
    return TokenResponse(access_token=access, expires_in=ttl)
