"""The agent raises its open-file limit, within the hard limit, to keep /proc files open."""

from __future__ import annotations

import resource
import subprocess
import sys

SCRIPT = """
import resource
from vitals_agent.service import raise_fd_limit
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
print(raise_fd_limit({wanted}), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
"""


def run(wanted: int) -> tuple[int, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(wanted=wanted)],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    return int(out[0]), int(out[1]), int(out[2])


def test_the_soft_limit_rises_to_what_is_wanted() -> None:
    returned, soft, hard = run(1000)
    assert returned == soft == min(1000, hard)


def test_the_hard_limit_is_not_passed() -> None:
    returned, soft, hard = run(1 << 40)
    assert returned == soft == (1 << 40 if hard == resource.RLIM_INFINITY else hard)
