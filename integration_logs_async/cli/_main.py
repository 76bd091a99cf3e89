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
from ._demo import add_demo_arguments, run_demo
from ._fleet import add_fleet_parser, run_fleet_command
from ._harvest import add_harvest_arguments, harvest_command
from ._harvest_sinks import HARVEST_EPILOG
from ._help import DefaultsHelpFormatter, add_global_options
from ._integrations import add_integrations_arguments, integrations_command
from ._messages import in_cli_words, one_line
from ._signals import EXIT_TERMINATED, Terminated
from ._tail import TAIL_EPILOG, add_tail_arguments, tail_command

EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a command whose output pipe's reader went away."""


def _discard_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush of what is still
    buffered for the gone reader fails no more (Python's documented way to stop quietly)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError):  # no real stdout (replaced, closed): nothing to silence
        pass


def build_parser() -> argparse.ArgumentParser:
    """The ``integration-logs`` argument parser.

    Every command's ``--help`` shows the defaults; ``--log-level`` and ``--version`` are
    accepted before or after the subcommand.
    """
    parser = argparse.ArgumentParser(
        prog="integration-logs",
        description="Harvest integration logs from Sendcloud and Elastic Path.",
        epilog=CREDENTIALS_HELP,
        formatter_class=DefaultsHelpFormatter,
    )
    add_global_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, *, epilog: str | None = None) -> argparse.ArgumentParser:
        child = sub.add_parser(
            name,
            help=summary,
            description=summary[:1].upper() + summary[1:] + ".",
            epilog=epilog,
            formatter_class=DefaultsHelpFormatter,
        )
        return child

    harvest = command(
        "harvest",
        "pull logs into a JSON Lines file or a database (crash-safe, incremental)",
        epilog=HARVEST_EPILOG + CREDENTIALS_HELP,
    )
    add_harvest_arguments(harvest)
    integrations = command(
        "integrations",
        "list the integrations (id, name, type, status), to join harvested ids to names",
        epilog=CREDENTIALS_HELP,
    )
    add_integrations_arguments(integrations)
    tail = command(
        "tail",
        "follow new logs as they arrive, one line each (resumable with --state)",
        epilog=TAIL_EPILOG + CREDENTIALS_HELP,
    )
    add_tail_arguments(tail)
    demo = command("demo", "harvest from the built-in emulator (no account needed)")
    add_demo_arguments(demo)
    emulate = command("emulate", "serve the built-in emulator of both APIs")
    from ..emulator.cli import add_emulate_arguments

    add_emulate_arguments(emulate)
    for child in (harvest, integrations, tail, demo, emulate):
        add_global_options(child, top_level=False)
    add_fleet_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point of the ``integration-logs`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
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
            return run_demo(args)
        if args.command == "integrations":
            asyncio.run(integrations_command(args, environment))
            return EXIT_OK
        if args.command == "tail":
            asyncio.run(tail_command(args, environment))
            return EXIT_OK
        if args.command == "fleet":
            return run_fleet_command(args, environment)
        result = asyncio.run(harvest_command(args, environment))
    except BrokenPipeError:  # stdout's reader went away (`... --out - | head -1`)
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("integration-logs: interrupted; rerun the same command to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as exc:  # SIGTERM, handled like Ctrl-C
        print(f"integration-logs: {exc}", file=sys.stderr)
        return EXIT_TERMINATED
    except (UsageError, IntegrationLogsError, ValueError, OSError) as exc:
        print(f"integration-logs: error: {in_cli_words(one_line(str(exc)))}", file=sys.stderr)
        return exit_code_for(exc)
    print(result.summary(), file=sys.stderr)
    if result.failures:
        return EXIT_REMOTE
    return EXIT_OK
