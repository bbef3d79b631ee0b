"""The dashboard's copy of the analytics answers' schema is the one the gateway publishes."""

from __future__ import annotations

import json
from pathlib import Path

from vitals_gateway.analytics.api import SCHEMAS

WEB = Path(__file__).resolve().parents[2] / "services" / "gateway" / "web"


def test_committed_analytics_schema_matches_the_gateway() -> None:
    committed = json.loads((WEB / "analytics.schema.json").read_text())
    # Through JSON, as the gateway serves it (tuples become lists).
    assert committed == json.loads(json.dumps({"components": {"schemas": SCHEMAS}})), (
        "services/gateway/web/analytics.schema.json differs from the analytics answers: run "
        "`npm run fetch:api && npm run gen:api` in services/gateway/web and commit the result"
    )
