"""No token reaches the gateway's log: a real gateway process, its stderr read back."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.helpers import Processes, eventually, token, wait_http
from tests.integration.test_gateway_harness import ADMIN_PASSWORD
from vitals_servers import free_port

JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.c2VjcmV0LXNpZ25hdHVyZQ"
API_LIKE = "vt_0123456789abcdef_s3cretApiTokenValue"


async def test_query_strings_never_reach_the_log(
    processes: Processes, service_env: dict[str, str]
) -> None:
    port = free_port()
    env = service_env | {
        "VITALS_HTTP_PORT": str(port),
        "VITALS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "VITALS_LOG_LEVEL": "debug",
    }
    processes.service("gateway", env)
    base = f"http://127.0.0.1:{port}"
    await wait_http(f"{base}/healthz")
    access = await token(base, "admin", ADMIN_PASSWORD)
    ws = f"ws://127.0.0.1:{port}/admin/system/stream"

    # Tokens in the URL, as some clients send them: accepted handshakes...
    for query in (f"token={JWT_LIKE}", f"access_token={API_LIKE}", f"a=1&token={access}"):
        async with connect(f"{ws}?{query}") as conn:
            await conn.send(json.dumps({"token": access, "subscribe": {"hosts": ["none"]}}))
            assert json.loads(await conn.recv())["type"] == "subscribed"
    # ...a refused one (an Origin that is not the gateway's)...
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{ws}?token={JWT_LIKE}", origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    # ...and plain HTTP requests.
    async with httpx.AsyncClient(base_url=base) as c:
        assert (await c.get(f"/healthz?token={JWT_LIKE}")).status_code == 200
        await c.get(f"/admin/system/hosts?access_token={API_LIKE}")

    # The handshakes are logged (so the check below reads real lines), without their query.
    log = str(
        await eventually(
            lambda: (text := processes.log("gateway")).count("WebSocket") >= 4 and text
        )
    )
    assert "/admin/system/stream" in log
    for secret in (JWT_LIKE, API_LIKE, access, "s3cretApiTokenValue", "token="):
        assert secret not in log
