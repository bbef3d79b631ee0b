"""The seed's `/admin/system/*` endpoints."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from fastapi import APIRouter, HTTPException, Query, Response, status

from vitals_core import keys
from vitals_gateway.deps import StateDep, UserDep
from vitals_gateway.redisio import as_text

router = APIRouter(prefix="/admin/system", tags=["system"])


def _json(payload: Any) -> Response:
    return Response(msgspec.json.encode(payload), media_type="application/json")


@router.get("/hosts")
async def hosts(state: StateDep, user: UserDep) -> Response:
    """Every host that has reported, with when it was last seen and whether it is stale."""
    seen = await state.redis.hgetall(keys.HOSTS)
    now = time.time()
    stale_after = state.settings.gateway.stale_after
    out = []
    for host, ts in sorted(seen.items()):
        last = float(ts)
        out.append(
            {
                "host": as_text(host),
                "last_seen": last,
                "status": "up" if now - last <= stale_after else "stale",
            }
        )
    return _json({"hosts": out})


@router.get("/metrics")
async def metrics(
    state: StateDep, user: UserDep, host: str | None = Query(None, max_length=128)
) -> Response:
    """Current metrics: one host with `host=`, else every host of the fleet."""
    if host is not None:
        raw = await state.redis.get(keys.latest(host))
        if raw is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown host {host!r}")
        return _json({"host": host, "metrics": msgspec.Raw(raw)})
    names = sorted(as_text(h) for h in await state.redis.hkeys(keys.HOSTS))
    values = await state.redis.mget([keys.latest(h) for h in names]) if names else []
    fleet = {h: msgspec.Raw(v) for h, v in zip(names, values, strict=True) if v is not None}
    return _json({"hosts": fleet})
