"""Harvest a fleet of stores into PostgreSQL, then print the fleet's status table.

A stores file (TOML, one ``[[store]]`` table per account, credentials as ``$VARIABLE``
references) lists the stores; ``run_fleet`` harvests each with its own client, several at
once, and one store's failure never stops the others; ``read_status`` reads the status
table (each store's last run, outcome, records and lag). A rerun continues failed stores
and adds only new logs. ``--to postgresql://...`` is required: a fleet writes only to
PostgreSQL. Needs the fleet extra: ``pip install 'integration-logs-async[fleet]'``.

Against your accounts: write a stores file, export the variables it names, then::

    python examples/fleet_of_three.py --stores stores.toml --to postgresql://harvester@db/logs

Against the built-in emulator: it starts three emulated stores (``EmulatorFleet``), writes
their stores file (to ``--stores`` if given, else a temporary directory) and gives the
fleet their credentials. Any PostgreSQL database you may create tables in will do::

    createdb fleet_demo
    python examples/fleet_of_three.py --emulator --to postgresql://localhost/fleet_demo
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC
from pathlib import Path

from integration_logs_async.emulator import EmulatorFleet
from integration_logs_async.fleet import StoreOutcome, load_stores, read_status, run_fleet
from integration_logs_async.sinks import parse_sink_url


def report(outcome: StoreOutcome) -> None:
    """Called by ``run_fleet`` as each store finishes."""
    done = f"{outcome.store}: {outcome.outcome}, {outcome.records} records"
    print(done + (f" ({outcome.error})" if outcome.error else ""), flush=True)


async def harvest_fleet(stores_file: Path, to: str, env: Mapping[str, str] | None) -> bool:
    """Run every store of ``stores_file`` into ``to`` (``env``: where the ``$VARIABLES``
    are looked up; None: this process's environment); True when all completed."""
    result = await run_fleet(load_stores(stores_file), to, env=env, on_outcome=report)
    return result.ok


def ago(seconds: float) -> str:
    """A lag in the largest unit that fits, e.g. ``3.5 h``."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


async def print_status(to: str) -> None:
    """The status table, one line per store."""
    rows = [("store", "provider", "outcome", "runs", "records", "newest log", "lag")]
    for status in await read_status(to):
        lag = status.lag()
        rows.append(
            (
                status.store,
                status.provider,
                status.last_outcome or "-",
                str(status.runs),
                str(status.total_records),
                f"{status.newest_created_at.astimezone(UTC):%Y-%m-%d %H:%M}Z"
                if status.newest_created_at
                else "-",
                ago(lag) if lag is not None else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def write_new(path: Path, text: str) -> None:
    """Write a new file (mode "x": never replaces one)."""
    with path.open("x") as file:
        file.write(text)


async def main(args: argparse.Namespace) -> int:
    """Harvest (your stores file, or three emulated stores), print the status; exit code."""
    if not args.emulator:
        ok = await harvest_fleet(Path(args.stores), args.to, None)
    else:
        async with EmulatorFleet(3, logs=500) as fleet:
            with tempfile.TemporaryDirectory() as scratch:
                stores_file = Path(args.stores or Path(scratch) / "stores.toml")
                write_new(stores_file, fleet.stores_toml(rate_limit=0))  # no pacing: loopback
                print(f"stores file: {args.stores or '(temporary)'}")
                ok = await harvest_fleet(stores_file, args.to, fleet.env())
    await print_status(args.to)
    return 0 if ok else 7


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--to", required=True, metavar="postgresql://...", help="the database")
    parser.add_argument("--stores", metavar="FILE", help="the stores file (TOML)")
    parser.add_argument("--emulator", action="store_true", help="three emulated stores")
    args = parser.parse_args(argv)
    try:
        kind = parse_sink_url(args.to).kind
    except ValueError as exc:  # not a URL the sinks know
        parser.error(str(exc))
    if kind != "postgresql":
        parser.error(f"--to {args.to}: a fleet writes to PostgreSQL (postgresql://...)")
    if not args.emulator and not args.stores:
        parser.error("give --stores FILE, or --emulator to try three emulated stores")
    if args.emulator and args.stores and Path(args.stores).exists():
        parser.error(f"--stores {args.stores} exists: give a new path for the emulated stores")
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
