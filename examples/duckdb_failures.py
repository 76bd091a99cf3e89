"""Harvest integration logs into DuckDB, then ask: which integration failed most yesterday?

``run_harvest`` with ``HarvestOptions(to="duckdb:///FILE")`` writes every log to the table
``integration_logs`` and the integrations to ``integration_logs_integrations``; a rerun adds
only the logs that are new. Then one SQL query joins the two and counts yesterday's failed
logs per integration name. "Yesterday" is the UTC day before ``--today`` (default: today,
UTC). Needs the DuckDB extra: ``pip install 'integration-logs-async[duckdb]'``.

Against your account, with the variables the ``integration-logs`` command reads::

    export SENDCLOUD_PUBLIC_KEY=... SENDCLOUD_SECRET_KEY=...
    python examples/duckdb_failures.py sendcloud --db logs.duckdb
    export EPCC_CLIENT_ID=... EPCC_CLIENT_SECRET=... EPCC_API_BASE_URL=https://useast.api.elasticpath.com
    python examples/duckdb_failures.py elasticpath --db logs.duckdb --today 2024-06-01

Against the built-in emulator (it starts one). Its logs end at a fixed time (2024-06-01 UTC),
so without ``--today`` "today" is the day after the newest harvested log::

    python examples/duckdb_failures.py elasticpath --emulator --db /tmp/emulated.duckdb
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

import duckdb

from integration_logs_async import BasicAuth, ClientCredentials, ElasticPathClient, SendcloudClient
from integration_logs_async.emulator import Emulator
from integration_logs_async.harvest import HarvestOptions, run_harvest

QUERY = """
SELECT i.name, count(*) AS failures
FROM integration_logs l
JOIN integration_logs_integrations i
  ON i.provider = l.provider AND i.store = l.store AND i.id = l.integration_id
WHERE l.provider = $provider AND NOT l.succeeded
  AND l.created_at >= $start AND l.created_at < $end
GROUP BY i.name ORDER BY failures DESC, i.name LIMIT 10
"""


def make_client(provider: str, env: Mapping[str, str]) -> SendcloudClient | ElasticPathClient:
    """A client from the environment variables ``integration-logs`` documents."""
    if provider == "sendcloud":
        auth = BasicAuth(env["SENDCLOUD_PUBLIC_KEY"], env["SENDCLOUD_SECRET_KEY"])
        return SendcloudClient(auth, base_url=env.get("SENDCLOUD_API_BASE_URL"))
    auth2 = ClientCredentials(env["EPCC_CLIENT_ID"], env["EPCC_CLIENT_SECRET"])
    return ElasticPathClient(auth2, base_url=env["EPCC_API_BASE_URL"])


async def harvest(provider: str, db: str, env: Mapping[str, str], store: str | None) -> int:
    """Harvest the account into the DuckDB file; returns the number of new records."""
    options = HarvestOptions(provider=provider, to=f"duckdb:///{db}", store=store)
    async with make_client(provider, env) as client:
        result = await run_harvest(client, options, progress=False)
    return result.records


def newest_day(db: str, provider: str) -> date:
    """The UTC day of the newest harvested log of ``provider``."""
    with duckdb.connect(db, read_only=True) as con:
        row = con.execute(
            "SELECT CAST(timezone('UTC', max(created_at)) AS DATE) FROM integration_logs"
            " WHERE provider = ?",
            [provider],
        ).fetchone()
    if row is None or row[0] is None:
        raise SystemExit(f"no {provider} logs in {db}: nothing to ask about")
    day: date = row[0]
    return day


def failures_on(db: str, provider: str, day: date) -> list[tuple[str, int]]:
    """(integration name, failed logs) created on ``day`` (UTC), most failures first."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    params = {"provider": provider, "start": start, "end": start + timedelta(days=1)}
    with duckdb.connect(db, read_only=True) as con:
        rows = con.execute(QUERY, params).fetchall()
    return [(str(name), int(count)) for name, count in rows]


async def main(args: argparse.Namespace) -> None:
    """Harvest (from the environment's account or an emulator started here), then query."""
    if not args.emulator:
        records = await harvest(args.provider, args.db, os.environ, None)
    else:  # a fixed store name: every run's emulator serves the same data
        async with Emulator(integrations=5, logs=2000) as emu:
            records = await harvest(args.provider, args.db, emu.env(), "emulator")
    print(f"harvested {records} new {args.provider} logs into {args.db}")
    if args.today is not None:
        yesterday = args.today - timedelta(days=1)
    elif args.emulator:  # the emulator's data ends at a fixed time: its last day
        yesterday = newest_day(args.db, args.provider)
    else:
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
    rows = failures_on(args.db, args.provider, yesterday)
    print(f"failed logs per integration on {yesterday} (UTC):")
    width = max([len("integration"), *(len(name) for name, _ in rows)])
    print(f"{'integration':<{width}}  failures")
    for name, count in rows:
        print(f"{name:<{width}}  {count:>8}")
    if not rows:
        print("(none)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("provider", choices=["sendcloud", "elasticpath"])
    parser.add_argument("--db", default="integration_logs.duckdb", help="the DuckDB file")
    parser.add_argument(
        "--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help="default: today, UTC"
    )
    parser.add_argument("--emulator", action="store_true", help="run against a local emulator")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
