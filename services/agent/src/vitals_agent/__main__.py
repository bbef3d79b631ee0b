from __future__ import annotations

import sys

from vitals_agent import tls
from vitals_core.config import ConfigError, load_settings


def main() -> None:
    try:
        settings = load_settings()
    except ConfigError as exc:
        from vitals_core.runtime import EXIT_CONFIG

        print(f"vitals agent: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    if not tls.needed(settings):
        tls.leave_out()
    # Imported after the decision above: asyncio loads ssl if it may.
    from vitals_agent.service import run
    from vitals_core.runtime import run_service

    sys.exit(run_service("agent", run, settings))


if __name__ == "__main__":
    main()
