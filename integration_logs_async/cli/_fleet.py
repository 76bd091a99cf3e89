"""``integration-logs fleet``: ``run`` (every store of a stores file, in this process) and
``status`` (the status table), plus the queue's ``worker`` and ``enqueue``.

Each subcommand sets ``fleet_handler``: a function ``(args, env) -> exit code`` that runs
the command (``asyncio.run`` inside) and raises what :func:`~._main.main` reports
(:class:`~._common.UsageError`, :class:`~._signals.Terminated`, library errors).
``cli/_fleet_queue.py: add_queue_commands(fleet_subparsers)`` adds those the same way
(``_fleet_common.fleet_subcommand`` builds each subparser).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..fleet._stores import StoreConfig, load_stores
from ..sinks import parse_sink_url
from ._common import EXIT_OK, EXIT_PARTIAL, UsageError, positive_int, since_arg
from ._fleet_common import FleetHandler, add_metrics_options, fleet_subcommand
from ._fleet_queue import add_queue_commands
from ._help import DefaultsHelpFormatter, add_global_options
from ._messages import one_line
from ._signals import SigtermCancels, Terminated

if TYPE_CHECKING:  # imported when a command runs: asyncpg and prometheus-client are extras
    from ..fleet._metrics import MetricsServer
    from ..fleet._run import FleetResult, StoreOutcome
    from ..fleet._status import StoreStatus

RUN_EPILOG = f"""\
Each store is harvested with its own client (credentials from the environment variables the
stores file names, rate limit, token cache) into the PostgreSQL database of --to, under its
name (the store column); one store's failure never stops the others. Every batch is
committed with the store's checkpoint: rerun the same command to continue a store that
failed or was stopped, and to add the new logs of the others. Each run is recorded in the
table <table>_fleet (see: integration-logs fleet status).

Exit status: 0 when every store completed; {EXIT_PARTIAL} when any store failed, is incomplete
or was locked by another run (the summary says which, and what to do); 2 for a bad stores
file or option; 130 on Ctrl-C, 143 on SIGTERM (committed batches kept).

Example:
  integration-logs fleet run stores.toml --to postgresql://harvester@db.internal/logs \\
      --concurrency 32 --metrics-port 9108
"""


def _add_to(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the PostgreSQL database: postgresql://USER@HOST:5432/DB (the password from "
        "PGPASSWORD or ~/.pgpass, or in the URL, never shown); ?table=NAME as for harvest",
    )


def add_fleet_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``fleet`` command and its subcommands, on the top-level subparsers ``sub``."""
    fleet = sub.add_parser(
        "fleet",
        help="harvest many stores (a stores file) into PostgreSQL, and see how they stand",
        description="Harvest many stores (accounts) into one PostgreSQL database.",
        formatter_class=DefaultsHelpFormatter,
    )
    add_global_options(fleet, top_level=False)
    fleet_sub = fleet.add_subparsers(dest="fleet_command", required=True, metavar="SUBCOMMAND")
    run = fleet_subcommand(
        fleet_sub,
        "run",
        "harvest every store of a stores file in this process, then print a summary",
        fleet_run_command,
        epilog=RUN_EPILOG,
    )
    run.add_argument("stores", metavar="STORES.toml", help="the stores file")
    _add_to(run)
    run.add_argument(
        "--concurrency", type=positive_int, default=16, metavar="N", help="stores harvested at once"
    )
    add_metrics_options(run, "this run's stores while it lasts")
    run.add_argument(
        "--since",
        type=since_arg,
        help="only logs created at/after (ISO-8601), for every store, as harvest --since does",
    )
    run.add_argument("--quiet", action="store_true", help="no line per store as it finishes")
    status = fleet_subcommand(
        fleet_sub,
        "status",
        "print the fleet's stores: last run, outcome, records and lag",
        fleet_status_command,
    )
    _add_to(status)
    add_queue_commands(fleet_sub)
    return fleet


def run_fleet_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run the ``fleet`` subcommand ``args`` selected; its exit code."""
    handler: FleetHandler = args.fleet_handler
    return handler(args, env)


# -- fleet run ------------------------------------------------------------------------------


def _need_extra() -> None:
    """:class:`UsageError` naming the extra to install when the fleet's drivers are missing."""
    try:
        import asyncpg  # type: ignore[import-untyped]  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"fleet needs {exc.name or 'its drivers'}: pip install 'integration-logs-async[fleet]'"
        ) from None


def _checked_to(to: str) -> str:
    _need_extra()
    from ..fleet._run import check_fleet_sink

    try:
        check_fleet_sink(to)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return to


def fleet_run_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``integration-logs fleet run``: the summary on stdout; 0 when every store completed."""
    to = _checked_to(args.to)
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise UsageError(f"--metrics-port must be 0..65535, not {args.metrics_port}")
    stores = load_stores(args.stores)  # StoresFileError (a ValueError): exit 2
    result, elapsed = asyncio.run(_run(args, to, stores, env))
    print(summary_table(result, elapsed))
    return EXIT_OK if result.ok else EXIT_PARTIAL


async def _run(
    args: argparse.Namespace, to: str, stores: list[StoreConfig], env: Mapping[str, str]
) -> tuple[FleetResult, float]:
    from ..fleet._metrics import FleetMetrics
    from ..fleet._run import run_fleet

    start = time.monotonic()
    finished: list[StoreOutcome] = []

    def on_outcome(outcome: StoreOutcome) -> None:
        finished.append(outcome)
        if not args.quiet:
            print(progress_line(outcome), file=sys.stderr, flush=True)

    metrics = FleetMetrics()
    server: MetricsServer | None = None
    sigterm = SigtermCancels()
    try:
        with sigterm:
            if args.metrics_port is not None:
                server = await metrics.serve(args.metrics_port, args.metrics_host)
                print(
                    f"metrics: http://{args.metrics_host}:{server.port}/metrics",
                    file=sys.stderr,
                    flush=True,
                )
            result = await run_fleet(
                stores,
                to,
                concurrency=args.concurrency,
                env=env,
                metrics=metrics,
                on_outcome=on_outcome,
                since=args.since,
            )
    except asyncio.CancelledError:
        if sigterm.received:
            raise Terminated(_kept(to, finished, len(stores))) from None
        raise
    finally:
        if server is not None:
            await server.close()
    return result, time.monotonic() - start


def _kept(to: str, finished: list[StoreOutcome], total: int) -> str:
    return (
        f"{len(finished)} of {total} store(s) had finished; every batch committed to "
        f"{parse_sink_url(to).shown} is kept with its store's state; rerun the same command "
        "to continue"
    )


def progress_line(outcome: StoreOutcome) -> str:
    """One line as a store finishes (stderr)."""
    tail = f": {outcome.error}" if outcome.error else ""
    return (
        f"{outcome.store}: {outcome.outcome}, {outcome.records:,} records in "
        f"{outcome.elapsed:,.1f} s{tail}"
    )


_COLUMNS = ("store", "outcome", "records", "requests", "429s", "elapsed", "error")
_STATUS_COLUMNS = ("store", "last run", "outcome", "records", "total", "runs", "lag", "error")
_NUMBERS = frozenset({"records", "requests", "429s", "elapsed", "total", "runs", "lag"})


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Aligned lines, numbers to the right (the last column is left unpadded)."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(width) if name in _NUMBERS else cell.ljust(width)
            for name, cell, width in zip(header, row, widths, strict=False)
        ]
        return "  ".join([*cells, row[-1]]).rstrip()

    return [line(header), *(line(row) for row in rows)]


def summary_table(result: FleetResult, elapsed: float) -> str:
    """The summary of a fleet run: one line per store, then the totals (pure)."""
    rows = [
        (
            o.store,
            o.outcome,
            f"{o.records:,}",
            f"{o.requests:,}",
            f"{o.rate_limited:,}",
            f"{o.elapsed:,.1f} s",
            one_line(o.error or ""),
        )
        for o in result.outcomes
    ]
    counts: dict[str, int] = {}
    for o in result.outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    by_outcome = ", ".join(
        f"{counts[k]} {k}" for k in ("completed", "incomplete", "failed", "locked") if counts.get(k)
    )
    outcomes = result.outcomes
    total = (
        f"total: {len(outcomes)} store(s){': ' + by_outcome if by_outcome else ''}; "
        f"{sum(o.records for o in outcomes):,} records, {sum(o.requests for o in outcomes):,} "
        f"requests, {sum(o.rate_limited for o in outcomes):,} 429s in {elapsed:,.1f} s"
    )
    return "\n".join([*_table(_COLUMNS, rows), total])


# -- fleet status ---------------------------------------------------------------------------


def fleet_status_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``integration-logs fleet status``: the status table on stdout."""
    to = _checked_to(args.to)
    from ..fleet._status import read_status, status_table

    rows = asyncio.run(read_status(to))
    if not rows:
        target = parse_sink_url(to)
        print(
            f"no fleet run has been recorded in {status_table(target)} at {target.shown} yet: "
            "run integration-logs fleet run STORES.toml --to URL",
            file=sys.stderr,
        )
        return EXIT_OK
    print(status_lines(rows, datetime.now(UTC)))
    return EXIT_OK


def human_seconds(seconds: float | None) -> str:
    """``seconds`` as ``45 s``, ``12 min``, ``3.2 h`` or ``5.1 d`` (``-`` for None)."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.1f} d"


def status_lines(rows: list[StoreStatus], now: datetime) -> str:
    """The status table of ``fleet status`` (pure)."""
    table = [
        (
            row.store,
            "-"
            if row.last_finished_at is None
            else row.last_finished_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "running" if row.running else (row.last_outcome or "-"),
            f"{row.last_records:,}",
            f"{row.total_records:,}",
            f"{row.runs:,}",
            human_seconds(row.lag(now)),
            one_line(row.last_error or ""),
        )
        for row in rows
    ]
    return "\n".join(_table(_STATUS_COLUMNS, table))


__all__ = [
    "RUN_EPILOG",
    "add_fleet_parser",
    "fleet_run_command",
    "fleet_status_command",
    "human_seconds",
    "progress_line",
    "run_fleet_command",
    "status_lines",
    "summary_table",
]
