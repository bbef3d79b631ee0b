"""The `vitals` command: `vitals up` for one machine, one subcommand per service."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

SERVICES = ("agent", "gateway", "alerter", "notifier")


def _service_main(name: str) -> Callable[[], None]:
    module = importlib.import_module(f"vitals_{name}.__main__")
    main: Callable[[], None] = module.main
    return main


def main(argv: list[str] | None = None) -> None:
    args_given = sys.argv[1:] if argv is None else argv
    if len(args_given) == 1 and args_given[0] in SERVICES:
        # Straight to the service, without argparse: on every host the agent counts its
        # memory, and loading argparse and building the parser cost it about 1 MB.
        # The service reads flags of its own (`vitals-agent --help`): none are given here.
        del sys.argv[1:]
        _service_main(args_given[0])()
        return
    import argparse

    parser = argparse.ArgumentParser(
        prog="vitals", description="System performance dashboard and alerting."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from vitals.up import EPILOG, add_arguments

    up_help = (
        "run everything on this machine: embedded NATS and Redis, the four services, an agent "
        "for this host and the demo application"
    )
    add_arguments(
        commands.add_parser(
            "up",
            help=up_help,
            description="Run everything on this machine: embedded NATS and Redis, the four\n"
            "services, an agent for this host and the demo application.",
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    for name in SERVICES:
        commands.add_parser(name, help=f"run the {name} (production: one per unit)")
    health = commands.add_parser(
        "healthcheck",
        help="exit 0 when the service in this container is healthy (the image's HEALTHCHECK)",
    )
    health.add_argument(
        "service", nargs="?", default="", choices=("", *SERVICES), help="default: PID 1's"
    )
    commands.add_parser("config", help="check the configuration and print it as JSON")
    commands.add_parser(
        "nats", help="per-host NATS credentials: init, enroll <host>, revoke <host>", add_help=False
    )
    commands.add_parser(
        "schema", help="write the JSON Schemas of the events and webhook bodies to docs/"
    )
    if args_given[:1] == ["nats"]:
        from vitals.enroll import main as nats_main

        sys.exit(nats_main(args_given[1:]))
    args = parser.parse_args(argv)

    if args.command == "up":
        from vitals.up import up

        sys.exit(up(args))
    if args.command == "healthcheck":
        from vitals.healthcheck import healthcheck

        sys.exit(healthcheck(args.service))
    if args.command == "config":
        from vitals.tools import check_config

        sys.exit(check_config())
    if args.command == "schema":
        from vitals.tools import write_schema

        sys.exit(write_schema())
    _service_main(args.command)()


if __name__ == "__main__":
    main()
