from __future__ import annotations

import sys

from vitals_agent import __version__, tls
from vitals_core.config import ConfigError, load_settings

# Not argparse: it costs the agent about 1 MB for two flags.
USAGE = """usage: vitals-agent [--help] [--version]

Vitals' per-host agent: samples this host, runs its checks and sends it all to NATS.
Configured by the TOML file in VITALS_CONFIG (default ./vitals.toml) and VITALS_*
variables: VITALS_NATS_URL, VITALS_NATS_CREDS_FILE, VITALS_NATS_TLS_CA_FILE,
VITALS_AGENT_HOST, VITALS_AGENT_INTERVAL, ... (docs/agent.md, docs/add-a-host.md).
"""


def main() -> None:
    args = sys.argv[1:]
    if args in (["-h"], ["--help"]):
        print(USAGE, end="")
        sys.exit(0)
    if args == ["--version"]:
        print(f"vitals-agent {__version__}")
        sys.exit(0)
    if args:
        print(f"vitals-agent: unknown argument {args[0]!r}\n{USAGE}", end="", file=sys.stderr)
        sys.exit(2)
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
