"""``integration-logs harvest``: its options and the run."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from .. import _constants as C
from ..harvest import HarvestOptions, HarvestResult, run_harvest
from ._clients import add_client_arguments, client_from_args
from ._common import positive_float, positive_int, since_arg


def add_harvest_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``integration-logs harvest``."""
    parser.add_argument("provider", choices=["sendcloud", "elasticpath"])
    add_client_arguments(parser)
    parser.add_argument("--out", required=True, help="output JSON Lines file, or - for stdout")
    parser.add_argument("--state", help="state file (default: OUT.state.json)")
    parser.add_argument(
        "--scope",
        choices=["all", "integrations", "jobs"],
        default="integrations",
        help="one listing of all logs, per integration (default), or per job (Elastic Path)",
    )
    parser.add_argument(
        "--integration", action="append", default=[], metavar="ID", help="only these (repeat)"
    )
    parser.add_argument("--concurrency", type=positive_int, default=C.FANOUT_CONCURRENCY)
    parser.add_argument("--max-items", type=positive_int)
    parser.add_argument("--since", type=since_arg, help="only logs created at/after (ISO-8601)")
    parser.add_argument("--page-size", type=positive_int)
    parser.add_argument(
        "--format",
        choices=["raw", "normalized"],
        default="raw",
        help="raw: the server's records, lossless (default); normalized: one schema for both",
    )
    parser.add_argument(
        "--save-every",
        type=positive_int,
        metavar="N",
        help="make the output durable and record progress in the state file every N records "
        "(default 5000; also every 2 s); a rerun after a crash re-fetches at most that much",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.add_argument(
        "--progress-interval",
        type=positive_float,
        metavar="S",
        help="seconds between progress lines when stderr is not a terminal (default 5)",
    )


async def harvest_command(args: argparse.Namespace, env: Mapping[str, str]) -> HarvestResult:
    """Run ``integration-logs harvest`` and return its result."""
    options = HarvestOptions(
        provider=args.provider,
        out=args.out,
        state=args.state,
        scope=args.scope,
        integration_ids=tuple(args.integration),
        concurrency=args.concurrency,
        max_items=args.max_items,
        since=args.since,
        format=args.format,
        page_size=args.page_size,
        **({} if args.save_every is None else {"save_every_records": args.save_every}),
    )
    client = client_from_args(args, env)
    async with client:
        return await run_harvest(
            client, options, progress=not args.quiet, progress_interval=args.progress_interval
        )
