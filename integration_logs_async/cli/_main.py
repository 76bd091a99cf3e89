"""The top-level parser and the entry point of the ``integration-logs`` command."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from ..errors import IntegrationLogsError
from ._clients import CREDENTIALS_HELP
from ._common import EXIT_INTERRUPTED, EXIT_OK, EXIT_REMOTE, UsageError, exit_code_for
from ._harvest import add_harvest_arguments, harvest_command


def build_parser() -> argparse.ArgumentParser:
    """The ``integration-logs`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="integration-logs",
        description="Harvest integration logs from Sendcloud and Elastic Path.",
        epilog=CREDENTIALS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default="WARNING", help="e.g. INFO or DEBUG (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True)
    harvest = sub.add_parser(
        "harvest",
        help="pull logs into a JSON Lines file (crash-safe, incremental)",
        epilog=CREDENTIALS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_harvest_arguments(harvest)
    demo = sub.add_parser("demo", help="harvest from the built-in emulator (no account needed)")
    from ..demo import add_demo_arguments

    add_demo_arguments(demo)
    emulate = sub.add_parser("emulate", help="serve the built-in emulator of both APIs")
    from ..emulator.cli import add_emulate_arguments

    add_emulate_arguments(emulate)
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point of the ``integration-logs`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    environment = os.environ if env is None else env
    try:
        if args.command == "emulate":
            from ..emulator.cli import run_emulate

            code: int = run_emulate(args)
            return code
        if args.command == "demo":
            from ..demo import run_demo

            return run_demo(args)
        result = asyncio.run(harvest_command(args, environment))
    except KeyboardInterrupt:
        print("integration-logs: interrupted; rerun the same command to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, IntegrationLogsError, ValueError, OSError) as exc:
        print(f"integration-logs: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    print(result.summary(), file=sys.stderr)
    if result.failures:
        return EXIT_REMOTE
    return EXIT_OK
