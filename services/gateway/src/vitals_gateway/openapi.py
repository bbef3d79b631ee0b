"""The OpenAPI document: FastAPI's, plus the schemas of the msgspec response bodies and the
bus events they embed, so a client generated from `/openapi.json` knows every shape."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from vitals_gateway.models import MODELS, ErrorDetail

REF = "#/components/schemas/{name}"

ERRORS: dict[int, str] = {
    401: "No token, or a token that is invalid, expired or revoked.",
    403: "The token's role may not do this.",
    404: "No such host, series or item.",
    422: "A parameter or the body is wrong; `detail` says which and why.",
    429: "Rate-limited; retry after `Retry-After` seconds.",
    503: "A service this needs (the alerter, the notifier, Redis) is not answering.",
}


def ref(model: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": REF.format(name=model.__name__)}


def responds(
    model: type[msgspec.Struct], *errors: int, description: str = "OK"
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering `model` as JSON, with the errors it may give."""
    out: dict[int | str, dict[str, Any]] = {
        200: {"description": description, "content": {"application/json": {"schema": ref(model)}}}
    }
    for code in (401, 403, 429, *errors):
        out[code] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": ref(ErrorDetail)}},
        }
    return out


def install(app: FastAPI) -> None:
    """Make `app.openapi()` include the msgspec schemas."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        _, components = msgspec.json.schema_components(MODELS, ref_template=REF)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, component in components.items():
            schemas.setdefault(name, component)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
