"""Annotations (deployments, maintenance): recorded, published on the bus, listed."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from vitals_core import events, subjects
from vitals_gateway import models
from vitals_gateway.deps import StateDep, UserDep, authorize, client_address
from vitals_gateway.openapi import responds
from vitals_gateway.params import BadParam, time_range

router = APIRouter(prefix="/admin/system", tags=["annotations"], dependencies=[Depends(authorize)])

HOST = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$"
TAG = Annotated[str, Field(min_length=1, max_length=64)]


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(msgspec.json.encode(payload), status_code, media_type="application/json")


class AnnotationRequest(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    host: str = Field("", max_length=128, pattern=r"^$|" + HOST)
    tags: list[TAG] = Field(default_factory=list, max_length=20)
    ts: float | None = Field(None, ge=0, description="Epoch seconds; none: now")


@router.post(
    "/annotations",
    status_code=201,
    responses={201: responds(models.Annotations)[200], **responds(models.Annotations, 422)},
)
async def create_annotation(
    request: Request, state: StateDep, user: UserDep, body: AnnotationRequest
) -> Response:
    """Record an info event (admin, or any API token): published on `vitals.annotations`
    for notification routes and websocket subscribers, and listed by GET."""
    now = time.time()
    annotation = events.Annotation(
        id=uuid.uuid4().hex,
        ts=body.ts if body.ts is not None else now,
        text=body.text,
        host=body.host,
        tags=body.tags,
        author=user.name,
    )
    data = events.encode(annotation)
    await state.alerts.add_annotation(data, annotation.ts, now)
    await state.js.publish(subjects.ANNOTATIONS, data, headers={"Nats-Msg-Id": annotation.id})
    await state.audit.record(
        user.name,
        "annotation.create",
        role=user.role,
        target=annotation.id,
        address=client_address(request),
        detail=body.text[:200],
    )
    return _json({"annotations": [annotation]}, 201)


@router.get("/annotations", responses=responds(models.Annotations, 422))
async def list_annotations(
    state: StateDep,
    range_: Annotated[
        Literal["1h", "6h", "24h", "7d", "30d", "90d"] | None, Query(alias="range")
    ] = None,
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
    host: Annotated[str | None, Query(max_length=128, pattern=HOST)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """Annotations in a time range (default the last 24 h), oldest first."""
    try:
        t0, t1 = time_range(range_, start, end, time.time(), default="24h")
    except BadParam as exc:
        raise exc.http() from None
    found = await state.alerts.annotations(t0, t1, 100_000)
    out = [
        a
        for a in found
        if (host is None or a.host in (host, "")) and (tag is None or tag in a.tags)
    ]
    return _json({"annotations": out[-limit:]})
