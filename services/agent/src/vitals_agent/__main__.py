from __future__ import annotations

import sys

from vitals_agent.service import run
from vitals_core.runtime import run_service


def main() -> None:
    sys.exit(run_service("agent", run))


if __name__ == "__main__":
    main()
