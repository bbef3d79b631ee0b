"""The dashboard's own unit tests (Vitest: formatters, data shaping), run by `make test`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "services" / "gateway" / "web"


def test_vitest_suite_passes() -> None:
    npm = shutil.which("npm")
    assert npm, "npm is missing: the dashboard needs Node.js 20.19+ and npm (see `make web`)"
    assert (WEB / "node_modules" / ".bin" / "vitest").exists(), (
        "the dashboard's packages are not installed: run `make web`"
    )
    done = subprocess.run(
        [npm, "test", "--silent"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout, done.stdout[-2000:]
