from __future__ import annotations

from fastapi import APIRouter, Response

from vitals_gateway.deps import StateDep, UserDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(state: StateDep, response: Response) -> dict[str, str]:
    """200 while NATS and Redis answer; 503 with the reason otherwise. No token needed."""
    problems = []
    if not state.nc.is_connected:
        problems.append("NATS is unreachable")
    try:
        await state.redis.ping()
    except Exception:
        problems.append("Redis is unreachable")
    if problems:
        response.status_code = 503
        return {"status": "unavailable", "reason": "; ".join(problems)}
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
async def prometheus(state: StateDep, user: UserDep) -> Response:
    """The gateway's own counters in the Prometheus text format."""
    lines = []
    for name, value in sorted(state.counters.values.items()):
        metric = f"vitals_gateway_{name}_total"
        lines += [f"# TYPE {metric} counter", f"{metric} {value}"]
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
