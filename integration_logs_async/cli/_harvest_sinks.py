"""``integration-logs harvest --to URL``: the sink options, their checks and their help."""

from __future__ import annotations

import argparse

from ..harvest import HarvestOptions
from ._common import UsageError

HARVEST_EPILOG = """\
Where to write:
  --out FILE                     JSON Lines (- for stdout), with FILE.state.json beside it
  --to duckdb:///data/logs.duckdb
                                 a DuckDB file (pip install 'integration-logs-async[duckdb]')
  --to parquet:///data/logs      Parquet files under a directory, partitioned by provider and
                                 day ([parquet] extra)
  --to postgresql://USER@HOST:5432/DB?sslmode=require
                                 a PostgreSQL database ([postgres] extra); the password from
                                 PGPASSWORD or ~/.pgpass, or in the URL (never shown)
  ?table=NAME                    the log table (default integration_logs); beside it
                                 NAME_integrations (to join failures to shop names),
                                 NAME_state (the harvest's state) and NAME_meta
A database keeps the harvest's state in its own tables, committed with the rows: rerun the
same command (same --scope and --integration) to continue or to add new logs; no state file.
One harvest per store at a time (DuckDB, Parquet: per file or directory); a second one exits
6 at once.

Examples:
  integration-logs harvest sendcloud --to duckdb:///data/logs.duckdb
  integration-logs harvest elasticpath --to postgresql://harvester@db.internal/logs --store eu-shop
  integration-logs harvest sendcloud --to parquet:///data/logs --since 2024-05-01T00:00:00Z

"""
"""The harvest command's epilog: the sinks, with examples."""


def add_sink_arguments(
    where: argparse._MutuallyExclusiveGroup, parser: argparse.ArgumentParser
) -> None:
    """``--to`` (in ``where``, the group with ``--out``) and ``--store``."""
    where.add_argument(
        "--to",
        metavar="URL",
        help="write to a database or Parquet instead of a file: postgresql://..., "
        "duckdb:///path.duckdb, parquet:///dir (jsonl:///path is --out path; no default: give "
        "--out or --to); see below",
    )
    parser.add_argument(
        "--store",
        metavar="NAME",
        help="with --to: the account's name in the tables (the store column). Default: "
        "provider:API host:the credential's public id (e.g. sendcloud:panel.sendcloud.sc:"
        "PUBLIC_KEY; never a secret)",
    )


def check_sink_args(args: argparse.Namespace, options: HarvestOptions) -> None:
    """:class:`UsageError` for what a harvest into a sink does not take (``--format``,
    ``--follow`` and the follow options)."""
    if options.to is None:
        return
    shown = options.sink.shown if options.sink is not None else options.to
    if args.format is not None:
        raise UsageError(
            f"--format is for a JSON Lines file, not --to {shown}: a database sink always "
            "writes both the normalized columns and the raw JSON; drop --format"
        )
    if args.follow:
        raise UsageError(
            "--follow writes to a JSON Lines file (--out); database sinks: later. Rerun the "
            f"harvest into {shown} (e.g. from a scheduler) to add the new logs"
        )


def kept_in_sink(options: HarvestOptions) -> str:
    """What a harvest into a sink stopped early leaves for a rerun."""
    shown = options.sink.shown if options.sink is not None else options.to
    return (
        f"every batch committed to {shown} is kept with its state (the batch being written "
        "was rolled back); rerun the same command to continue"
    )


__all__ = ["HARVEST_EPILOG", "add_sink_arguments", "check_sink_args", "kept_in_sink"]
