"""No allow_private CIDR opens a cloud metadata address in an IPv6 form: a real notifier
process refuses the receiver at start, and the channel refuses it at send time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Processes, eventually
from tests.integration.test_notifier_safety import send

ALLOW_ALL = ["::/0", "::ffff:0:0/96", "64:ff9b::/96", "0.0.0.0/0"]
FORMS = ["[::ffff:169.254.169.254]", "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::1]"]


@pytest.mark.parametrize("host", FORMS)
async def test_the_notifier_refuses_to_start_with_metadata_behind_ipv6(
    service_env: dict[str, str], processes: Processes, tmp_path: Path, host: str
) -> None:
    config = tmp_path / "refused.toml"
    allow = ", ".join(f'"{a}"' for a in ALLOW_ALL)
    config.write_text(
        f"[notifier]\nallow_private = [{allow}]\n"
        f'[[notifier.receivers]]\nname = "hook"\nkind = "webhook"\nurl = "http://{host}/x"\n'
    )
    proc = processes.service("notifier", service_env | {"VITALS_CONFIG": str(config)})
    await eventually(lambda: proc.poll() is not None, timeout=20)
    assert proc.returncode == 2
    log = processes.log("notifier")
    assert "cloud metadata address" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("host", FORMS)
async def test_a_send_to_metadata_behind_ipv6_is_refused(host: str) -> None:
    ok, refused, error = await send(f"http://{host}/latest/meta-data", ALLOW_ALL)
    assert (ok, refused) == (False, True)
    assert "cloud metadata address" in error
