"""Alerts (served from Redis), and what the alerter and the notifier answer over NATS."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field, model_validator

from vitals_core import control
from vitals_gateway import models
from vitals_gateway.auth.authenticator import Principal
from vitals_gateway.deps import State, StateDep, UserDep, authorize, client_address
from vitals_gateway.ingest.alertstore import STATE_OF
from vitals_gateway.openapi import responds
from vitals_gateway.params import BadParam
from vitals_gateway.params import since as parse_since
from vitals_gateway.relay import ControlError

router = APIRouter(prefix="/admin/system", tags=["alerts"], dependencies=[Depends(authorize)])

HOST = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$"
ID = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
Limit = Annotated[int, Query(ge=1, le=10_000)]


def _json(payload: Any) -> Response:
    return Response(msgspec.json.encode(payload), media_type="application/json")


async def _relay(state: Any, service: str, verb: str, request: msgspec.Struct) -> Response:
    try:
        data = await state.relay.ask(service, verb, request)
    except ControlError as exc:
        if exc.status == 503:
            state.counters.inc("control_unavailable")
        raise HTTPException(exc.status, detail=exc.message) from None
    return _json({"data": data})


async def _relay_audited(
    request: Request,
    state: State,
    user: Principal,
    service: str,
    verb: str,
    message: msgspec.Struct,
    *,
    action: str,
    target: str,
    detail: str = "",
) -> Response:
    """Relay an admin action, then record who did it in the audit log."""
    response = await _relay(state, service, verb, message)
    await state.audit.record(
        user.name,
        action,
        role=user.role,
        target=target,
        address=client_address(request),
        detail=detail,
    )
    return response


@router.get("/alerts", responses=responds(models.Alerts, 422))
async def alerts(
    state: StateDep,
    state_: Annotated[
        Literal["firing", "acknowledged", "silenced", "resolved"] | None,
        Query(alias="state", description="Only alerts whose latest event puts them here"),
    ] = None,
    since: Annotated[
        str | None,
        Query(max_length=40, description="History from then (time or `24h`); none: active"),
    ] = None,
    host: Annotated[str | None, Query(max_length=128, pattern=HOST)] = None,
    severity: Literal["info", "warning", "critical"] | None = None,
    limit: Limit = 1000,
) -> Response:
    """Active alerts (latest event of each), or with `since` every alert event since then."""
    now = time.time()
    if since is None:
        if state_ == "resolved":
            raise BadParam("state", "resolved alerts are not active: add since=").http()
        found = await state.alerts.active()
    else:
        try:
            t0 = parse_since(since, now)
        except BadParam as exc:
            raise exc.http() from None
        found = await state.alerts.history(t0, now + 300, 100_000)
    out = [
        a
        for a in found
        if (state_ is None or STATE_OF.get(a.event) == state_)
        and (host is None or a.host == host)
        and (severity is None or a.severity == severity)
    ]
    return _json({"alerts": out[-limit:] if since else out[:limit]})


class AckRequest(BaseModel):
    comment: str = Field("", max_length=1000)


@router.post("/alerts/{alert_id}/acknowledge", responses=responds(models.Relayed, 404, 422, 503))
async def acknowledge(
    request: Request,
    state: StateDep,
    user: UserDep,
    alert_id: ID,
    body: Annotated[AckRequest | None, Body()] = None,
) -> Response:
    """Acknowledge an alert (stops its escalation); the alerter records who and when."""
    comment = body.comment if body else ""
    return await _relay_audited(
        request,
        state,
        user,
        control.ALERTER,
        "acknowledge",
        control.Acknowledge(alert_id=alert_id, by=user.name, comment=comment),
        action="alert.acknowledge",
        target=alert_id,
        detail=comment,
    )


@router.get("/alerts/history", responses=responds(models.Relayed, 422, 503))
async def alert_history(
    state: StateDep,
    alert_id: Annotated[str, Query(max_length=128)] = "",
    host: Annotated[str, Query(max_length=128)] = "",
    since: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """Alert transitions as the gateway stored them from the alert stream (the newest
    `limit`, oldest first; the gateway keeps the latest `gateway.alerts_history_max`)."""
    try:
        t0 = parse_since(since, time.time()) if since else 0.0
    except BadParam as exc:
        raise exc.http() from None
    found, scanned = await state.alerts.recent(t0, alert_id, host, limit)
    return _json({"data": {"events": found, "scanned": scanned, "truncated": False}})


@router.get("/rules", responses=responds(models.Relayed, 503))
async def rules(state: StateDep) -> Response:
    """The alerter's rules."""
    return await _relay(state, control.ALERTER, "rule_list", control.ListRules())


class MatcherIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    value: str = Field(max_length=512)
    op: Literal["=", "!=", "=~", "!~"] = "="


class SilenceRequest(BaseModel):
    matchers: list[MatcherIn] = Field(min_length=1, max_length=20)
    starts_at: float | None = Field(None, description="Epoch seconds; none: now")
    ends_at: float | None = Field(None, description="Epoch seconds; or give duration")
    duration: float | None = Field(None, gt=0, le=365 * 86400, description="Seconds")
    comment: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def one_end(self) -> SilenceRequest:
        if (self.ends_at is None) == (self.duration is None):
            raise ValueError("give either ends_at or duration")
        return self


@router.post("/silences", responses=responds(models.Relayed, 422, 503))
async def create_silence(
    request: Request, state: StateDep, user: UserDep, body: SilenceRequest
) -> Response:
    """Silence the alerts the matchers select, from `starts_at` until `ends_at`."""
    start = body.starts_at if body.starts_at is not None else time.time()
    end = body.ends_at if body.ends_at is not None else start + (body.duration or 0)
    if end <= start:
        raise BadParam("ends_at", "ends_at must be after starts_at").http("body")
    matchers = [control.Matcher(name=m.name, value=m.value, op=m.op) for m in body.matchers]
    return await _relay_audited(
        request,
        state,
        user,
        control.ALERTER,
        "silence_create",
        control.CreateSilence(
            matchers=matchers, starts_at=start, ends_at=end, by=user.name, comment=body.comment
        ),
        action="silence.create",
        target=", ".join(f"{m.name}{m.op}{m.value}" for m in body.matchers),
        detail=body.comment,
    )


@router.get("/silences", responses=responds(models.Relayed, 503))
async def list_silences(state: StateDep, include_expired: bool = False) -> Response:
    """The alerter's silences."""
    request = control.ListSilences(include_expired=include_expired)
    return await _relay(state, control.ALERTER, "silence_list", request)


@router.delete("/silences/{silence_id}", responses=responds(models.Relayed, 404, 503))
async def delete_silence(
    request: Request, state: StateDep, user: UserDep, silence_id: ID
) -> Response:
    """End a silence now."""
    return await _relay_audited(
        request,
        state,
        user,
        control.ALERTER,
        "silence_delete",
        control.DeleteSilence(id=silence_id, by=user.name),
        action="silence.delete",
        target=silence_id,
    )


@router.get("/notifications", responses=responds(models.Relayed, 422, 503))
async def notifications(
    state: StateDep,
    receiver: Annotated[str, Query(max_length=128)] = "",
    since: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """The notifier's delivery attempts."""
    try:
        t0 = parse_since(since, time.time()) if since else 0.0
    except BadParam as exc:
        raise exc.http() from None
    request = control.ListAttempts(receiver=receiver, since=t0, limit=limit)
    return await _relay(state, control.NOTIFIER, "attempts_list", request)


@router.get("/notifications/dead", responses=responds(models.Relayed, 503))
async def dead_letters(
    state: StateDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> Response:
    """Notifications the notifier gave up on, kept for replay."""
    request = control.ListDeadLetters(limit=limit)
    return await _relay(state, control.NOTIFIER, "dead_list", request)


@router.post("/notifications/dead/{dead_id}/replay", responses=responds(models.Relayed, 404, 503))
async def replay_dead_letter(
    request: Request, state: StateDep, user: UserDep, dead_id: ID
) -> Response:
    """Send a dead letter again."""
    return await _relay_audited(
        request,
        state,
        user,
        control.NOTIFIER,
        "dead_replay",
        control.ReplayDeadLetter(id=dead_id, by=user.name),
        action="notification.replay",
        target=dead_id,
    )
