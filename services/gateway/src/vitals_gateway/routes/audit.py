"""The audit log (admin only)."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Query, Response

from vitals_gateway import models
from vitals_gateway.deps import StateDep, authorize
from vitals_gateway.openapi import responds
from vitals_gateway.params import BadParam
from vitals_gateway.params import since as parse_since

router = APIRouter(prefix="/admin/system", tags=["audit"], dependencies=[Depends(authorize)])


@router.get("/audit", responses=responds(models.AuditLog, 422))
async def audit(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    since: Annotated[str | None, Query(max_length=40)] = None,
    who: Annotated[str, Query(max_length=128)] = "",
    action: Annotated[str, Query(max_length=64, description="Prefix, e.g. `login`")] = "",
) -> Response:
    """Admin actions and failed logins, newest first: who, what, when, from where."""
    try:
        t0 = parse_since(since, time.time()) if since else 0.0
    except BadParam as exc:
        raise exc.http() from None
    entries = await state.audit.entries(limit, t0, who, action)
    return Response(msgspec.json.encode({"entries": entries}), media_type="application/json")
