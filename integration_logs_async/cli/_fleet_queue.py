"""``integration-logs fleet worker`` and ``fleet enqueue``: the fleet scaled out on a
PostgreSQL job queue (procrastinate), any number of workers on any machines."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from ..fleet._stores import load_stores
from ._common import EXIT_OK, UsageError, positive_float, positive_int
from ._fleet_common import add_metrics_options, fleet_subcommand
from ._signals import SigtermCancels, Terminated

WORKER_EPILOG = """\
Start as many workers as you like, on any machines that reach the database: each takes the
jobs that fleet enqueue (or the schedule) queued, at most one running and one waiting per
store, and harvests each store with its own client into --to (default: --dsn), resuming from
the store's committed checkpoint. The stores' credentials are read from this worker's
environment (the job holds only the stores file's "$VAR" references). Every --heartbeat
seconds a worker beats, queues the scheduled stores that are due, and queues again the jobs
of dead workers: at once when a worker missed two beats and its database session is gone
(killed, crashed), after --stall seconds of silence when its session lives on (frozen, or a
machine cut off); the store's lock in the sink keeps a frozen worker that wakes up from
writing twice.

Stop with Ctrl-C or SIGTERM: running stores go on for --grace seconds, then stop, keeping
their committed batches; their jobs are queued again for the other workers. Exit status:
130 on Ctrl-C, 143 on SIGTERM, 3 when the database refuses the credentials, 4 when it cannot
be reached (or the worker lost it), 2 for a bad option.

Example:
  integration-logs fleet worker --dsn postgresql://harvester@db.internal/logs \\
      --concurrency 16 --metrics-port 9108
"""

ENQUEUE_EPILOG = """\
Queues one harvest job per store of the file (the job holds the store's settings and
"$VAR" references, never a secret); a store whose job is already waiting is reported as
"already waiting" (one running and one waiting at most per store). Workers (fleet worker)
run the jobs.

Schedules: --every 5m also keeps the stores harvested every 5 minutes (30s, 5m, 1h, 1d):
workers queue each when due, however many workers there are. Enqueueing again with another
--every changes the period; without --every the schedule is left as it is. To stop the
schedule of the file's stores: --every 0 (nothing is queued then).

Example:
  integration-logs fleet enqueue stores.toml --dsn postgresql://harvester@db.internal/logs \\
      --every 15m
"""


def every_arg(text: str) -> float:
    """``--every``: a period in seconds (0: stop the schedule)."""
    from ..fleet._schedule import parse_every

    try:
        return parse_every(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--every {text!r} ")) from None


def _add_dsn(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        required=True,
        metavar="URL",
        help="the queue's PostgreSQL database: postgresql://USER@HOST:5432/DB (the password "
        "from PGPASSWORD or ~/.pgpass, or in the URL, never shown); often the sink's",
    )


def add_queue_commands(fleet_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``fleet worker`` and ``fleet enqueue``, on the ``fleet`` subparsers."""
    worker = fleet_subcommand(
        fleet_sub,
        "worker",
        "run a worker that harvests the stores queued in PostgreSQL (start any number)",
        fleet_worker_command,
        epilog=WORKER_EPILOG,
    )
    _add_dsn(worker)
    worker.add_argument(
        "--to", metavar="URL", help="the PostgreSQL sink the rows go to (default: --dsn)"
    )
    worker.add_argument(
        "--concurrency", type=positive_int, default=8, metavar="N", help="stores harvested at once"
    )
    add_metrics_options(worker, "this worker's stores")
    worker.add_argument(
        "--heartbeat", type=positive_float, default=1.0, metavar="S", help="seconds between beats"
    )
    worker.add_argument(
        "--stall",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="a worker silent this long is dead even if its database session lives: its jobs "
        "are queued again (at least 3 x --heartbeat; a worker whose session is gone: after 2 "
        "beats)",
    )
    worker.add_argument(
        "--grace",
        type=float,
        default=0.0,
        metavar="S",
        help="on Ctrl-C/SIGTERM, seconds running stores may go on before they are stopped",
    )
    worker.add_argument("--quiet", action="store_true", help="no line per store started/finished")
    enqueue = fleet_subcommand(
        fleet_sub,
        "enqueue",
        "queue one harvest job per store of a stores file for the workers; --every schedules",
        fleet_enqueue_command,
        epilog=ENQUEUE_EPILOG,
    )
    enqueue.add_argument("stores", metavar="STORES.toml", help="the stores file")
    _add_dsn(enqueue)
    enqueue.add_argument(
        "--every",
        type=every_arg,
        metavar="PERIOD",
        help="also queue the stores every PERIOD (30s, 5m, 1h, 1d); 0 stops their schedule",
    )


def _need_extra() -> None:
    """:class:`UsageError` naming the extra to install when the queue's drivers are missing."""
    try:
        import asyncpg  # type: ignore[import-untyped]  # noqa: F401
        import procrastinate  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"fleet worker and fleet enqueue need {exc.name or 'their drivers'}: "
            "pip install 'integration-logs-async[fleet]'"
        ) from None


def _checked_urls(args: argparse.Namespace) -> None:
    """:class:`UsageError` for a ``--dsn``/``--to`` that is not PostgreSQL."""
    from ..fleet._queue import queue_target
    from ..fleet._run import check_fleet_sink

    try:
        queue_target(args.dsn)
        if getattr(args, "to", None):
            check_fleet_sink(args.to)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def fleet_worker_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``integration-logs fleet worker``: runs until Ctrl-C or SIGTERM."""
    _need_extra()
    from ..fleet._worker import check_timing

    _checked_urls(args)
    try:
        check_timing(args.heartbeat, args.stall)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not (math.isfinite(args.grace) and args.grace >= 0):
        raise UsageError(f"--grace must be a number of seconds >= 0, not {args.grace}")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise UsageError(f"--metrics-port must be 0..65535, not {args.metrics_port}")
    asyncio.run(_work(args, env))
    return EXIT_OK  # not reached: the worker runs until stopped


def _say(line: str) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {line}", file=sys.stderr, flush=True)


async def _work(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    from ..fleet._queue import Queue
    from ..fleet._worker import run_worker

    def ready(queue: Queue) -> None:
        _say(
            f"fleet worker (pid {os.getpid()}) on {queue.target.shown}: up to "
            f"{args.concurrency} store(s) at once; Ctrl-C or SIGTERM stops it"
        )

    sigterm = SigtermCancels()
    try:
        with sigterm:
            await run_worker(
                args.dsn,
                to=args.to,
                concurrency=args.concurrency,
                metrics_port=args.metrics_port,
                metrics_host=args.metrics_host,
                heartbeat=args.heartbeat,
                stall=args.stall,
                grace=args.grace,
                env=env,
                report=(lambda line: None) if args.quiet else _say,
                on_ready=ready,
            )
    except asyncio.CancelledError:
        if sigterm.received:
            raise Terminated(
                "the running stores' committed batches are kept and their jobs are queued "
                "again for the other workers; start a worker to continue"
            ) from None
        raise


def fleet_enqueue_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``integration-logs fleet enqueue``: one line per store on stdout, then a total."""
    _need_extra()
    _checked_urls(args)
    from ..fleet._queue import enqueue
    from ..fleet._schedule import format_every

    stores = load_stores(args.stores)  # StoresFileError (a ValueError): exit 2
    result = asyncio.run(enqueue(stores, args.dsn, every=args.every))
    for line in result.schema.lines():
        print(f"queue: {line}", file=sys.stderr)
    for done in result.stores:
        job = f" (job {done.job_id})" if done.job_id is not None else ""
        print(f"{done.store}: {done.status}{job}")
    counts = ", ".join(
        f"{result.count(status)} {status}"
        for status in ("queued", "already waiting", "schedule stopped", "not scheduled")
        if result.count(status)
    )
    total = f"total: {len(result.stores)} store(s){': ' + counts if counts else ''}"
    if result.every:
        total += f"; scheduled every {format_every(result.every)}"
    print(total)
    return EXIT_OK


__all__ = [
    "ENQUEUE_EPILOG",
    "WORKER_EPILOG",
    "add_queue_commands",
    "every_arg",
    "fleet_enqueue_command",
    "fleet_worker_command",
]
