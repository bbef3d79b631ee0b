from __future__ import annotations

import sys

from vitals_core.runtime import run_service
from vitals_gateway.service import run


def main() -> None:
    sys.exit(run_service("gateway", run))


if __name__ == "__main__":
    main()
