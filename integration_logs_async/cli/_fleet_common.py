"""What the ``fleet`` subcommands share: how one is declared, and the metrics options."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from ._help import DefaultsHelpFormatter, add_global_options

FleetHandler = Callable[[argparse.Namespace, Mapping[str, str]], int]
"""What a ``fleet`` subcommand runs: ``(args, env) -> exit code``."""


def fleet_subcommand(
    fleet_sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    handler: FleetHandler,
    *,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A ``fleet NAME`` subparser that runs ``handler`` (help formatted like the others)."""
    child = fleet_sub.add_parser(
        name,
        help=summary,
        description=summary[:1].upper() + summary[1:] + ".",
        epilog=epilog,
        formatter_class=DefaultsHelpFormatter,
    )
    add_global_options(child, top_level=False)
    child.set_defaults(fleet_handler=handler)
    return child


def add_metrics_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--metrics-port`` and ``--metrics-host``: serve ``what``'s Prometheus metrics."""
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="P",
        help=f"serve Prometheus metrics of {what} on this port (0: any free port)",
    )
    parser.add_argument(
        "--metrics-host", default="127.0.0.1", metavar="HOST", help="address for --metrics-port"
    )


__all__ = ["FleetHandler", "add_metrics_options", "fleet_subcommand"]
