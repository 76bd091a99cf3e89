"""The fleet's status table and Prometheus metrics after real runs: per-store records equal
to what was harvested, a failing store counted as an error with its line (no secret), the
lag from the newest harvested ``created_at``, ``running`` from the store's writer lock, and
the metrics scraped over HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from prometheus_client.parser import text_string_to_metric_families

from integration_logs_async.emulator import EmulatorConfig, EmulatorFleet, FaultConfig
from integration_logs_async.fleet._metrics import PREFIX, FleetMetrics
from integration_logs_async.fleet._run import run_fleet, run_store
from integration_logs_async.fleet._status import (
    StatusRecorder,
    StoreRun,
    read_status,
    record_run,
)
from integration_logs_async.fleet._stores import StoreConfig, parse_stores
from integration_logs_async.sinks import StoreKey, open_sink

from .._support.postgres import PASSWORD
from ..harvest._sink_reader import read_store

SMALL = EmulatorConfig(integrations=3, jobs_per_integration=1)
WRONG = "Not-The-Secret-4d2a"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> tuple[str, Samples]:
    """GET /metrics: the text and every sample by (name, sorted labels)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


def labels(store: str, **extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"store": store, "provider": "sendcloud", **extra}.items()))


async def newest_stored(dsn: str, store: str) -> datetime:
    stored = await read_store(dsn, "sendcloud", store)
    times = [log.created_at for log in stored.logs if log.created_at is not None]
    return max(times)


async def test_metrics_and_status_after_runs(pg_dsn: str) -> None:
    async with EmulatorFleet(3, config=SMALL, logs=[40, 50, 60]) as fleet:
        stores = parse_stores(fleet.stores_toml(rate_limit=0))
        good, bad = fleet.names[:2], fleet.names[2]
        env = fleet.env()
        env[fleet.store(2).credentials["secret_key"]] = WRONG
        metrics = FleetMetrics()
        server = await metrics.serve(0)
        async with server:
            first = await run_fleet(stores, pg_dsn, env=env, metrics=metrics)
            before = time.time()
            text, samples = await scrape(server.port)
            after = time.time()
            outcomes = {o.store: o for o in first.outcomes}
            for name, count in zip(good, (40, 50), strict=True):
                assert samples[(f"{PREFIX}_records_total", labels(name))] == count
                assert samples[(f"{PREFIX}_errors_total", labels(name))] == 0
                assert samples[(f"{PREFIX}_requests_total", labels(name))] == (
                    outcomes[name].requests
                )
                assert samples[(f"{PREFIX}_runs_total", labels(name, outcome="completed"))] == 1
                assert (f"{PREFIX}_last_success_timestamp_seconds", labels(name)) in samples
                newest = await newest_stored(pg_dsn, name)
                assert outcomes[name].newest_created_at == newest
                lag = samples[(f"{PREFIX}_lag_seconds", labels(name))]
                assert before - newest.timestamp() <= lag <= after - newest.timestamp()
            assert samples[(f"{PREFIX}_records_total", labels(bad))] == 0
            assert samples[(f"{PREFIX}_errors_total", labels(bad))] == 1
            assert samples[(f"{PREFIX}_runs_total", labels(bad, outcome="failed"))] == 1
            assert (f"{PREFIX}_last_success_timestamp_seconds", labels(bad)) not in samples
            assert (f"{PREFIX}_lag_seconds", labels(bad)) not in samples
            assert WRONG not in text and PASSWORD not in text and "EMU_STORE" not in text

            rows = {row.store: row for row in await read_status(pg_dsn)}
            assert set(rows) == set(fleet.names)
            for name, count in zip(good, (40, 50), strict=True):
                row = rows[name]
                assert (row.last_outcome, row.last_records, row.total_records) == (
                    "completed",
                    count,
                    count,
                )
                assert row.runs == 1 and row.last_error is None and not row.running
                assert row.provider == "sendcloud" and row.last_success_at is not None
                assert row.newest_created_at == await newest_stored(pg_dsn, name)
                row_lag = row.lag()
                assert row_lag is not None and row_lag > 0
            failed = rows[bad]
            assert failed.last_outcome == "failed" and failed.last_success_at is None
            assert failed.last_error is not None and "refused the credentials" in failed.last_error
            assert WRONG not in failed.last_error and failed.newest_created_at is None

            fleet.emulators[0].add_logs("sendcloud", 5)
            await run_fleet(stores, pg_dsn, env=fleet.env(), metrics=metrics)
            _, samples = await scrape(server.port)
            assert samples[(f"{PREFIX}_records_total", labels(good[0]))] == 45
            assert samples[(f"{PREFIX}_records_total", labels(bad))] == 60
            assert samples[(f"{PREFIX}_runs_total", labels(bad, outcome="completed"))] == 1
            assert samples[(f"{PREFIX}_errors_total", labels(bad))] == 1  # a counter
        rows = {row.store: row for row in await read_status(pg_dsn)}
        assert (rows[good[0]].last_records, rows[good[0]].total_records) == (5, 45)
        assert (rows[good[1]].last_records, rows[good[1]].total_records, rows[good[1]].runs) == (
            0,
            50,
            2,
        )
        assert rows[bad].last_outcome == "completed" and rows[bad].last_error is None
        assert rows[bad].total_records == 60 and rows[bad].last_success_at is not None
        assert rows[good[0]].newest_created_at == await newest_stored(pg_dsn, good[0])


async def test_running_from_the_lock_and_a_locked_run_leaves_the_status(pg_dsn: str) -> None:
    async with EmulatorFleet(1, config=SMALL, logs=20) as fleet:
        store: StoreConfig = parse_stores(fleet.stores_toml(rate_limit=0))[0]
        await run_store(store, pg_dsn, env=fleet.env())
        (row,) = await read_status(pg_dsn)
        assert row.runs == 1 and not row.running
        holder = open_sink(pg_dsn)  # another harvest of the store, holding its lock
        await holder.open(StoreKey(provider="sendcloud", store=store.name, harvest="other"))
        try:
            (row,) = await read_status(pg_dsn)
            assert row.running
            metrics = FleetMetrics()
            locked = await run_store(store, pg_dsn, env=fleet.env(), metrics=metrics)
            assert locked.outcome == "locked" and locked.records == 0
            (after,) = await read_status(pg_dsn)
            assert after.runs == 1 and after.last_outcome == "completed"  # untouched
            assert b'outcome="locked"' in metrics.render()
        finally:
            await holder.close()
        (row,) = await read_status(pg_dsn)
        assert not row.running


def _run(store: str, records: int, at: datetime) -> StoreRun:
    """A completed Sendcloud run of ``store`` that harvested ``records``."""
    return StoreRun(
        store=store,
        provider="sendcloud",
        started_at=at,
        finished_at=at,
        outcome="completed",
        error=None,
        records=records,
        newest_created_at=None,
    )


async def test_status_table_created_once_by_concurrent_first_runs(pg_dsn: str) -> None:
    assert await read_status(pg_dsn) == []
    now = datetime.now(UTC)
    await asyncio.gather(*(record_run(pg_dsn, _run(f"s{i}", i, now)) for i in range(6)))
    rows = await read_status(f"{pg_dsn}?table=integration_logs")
    assert [(r.store, r.total_records, r.runs) for r in rows] == [(f"s{i}", i, 1) for i in range(6)]
    assert await read_status(f"{pg_dsn}?table=other_logs") == []  # another ?table=: its own


async def test_one_recorder_writes_many_runs_over_one_connection(pg_dsn: str) -> None:
    """A fleet records its stores' runs over one connection; when the server has dropped
    it, the record is written over a new one."""
    now = datetime.now(UTC)

    async def record(recorder: StatusRecorder, store: str, records: int) -> None:
        await recorder.record(_run(store, records, now))

    async def backends(conn: asyncpg.Connection) -> list[int]:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'integration-logs fleet'"
        )
        return [int(row["pid"]) for row in rows]

    recorder = StatusRecorder(pg_dsn)
    watcher = await asyncpg.connect(pg_dsn)
    try:
        await asyncio.gather(*(record(recorder, f"s{i}", i) for i in range(5)))
        (pid,) = await backends(watcher)
        await record(recorder, "s0", 10)
        assert await backends(watcher) == [pid]
        await watcher.execute("SELECT pg_terminate_backend($1)", pid)
        await record(recorder, "s1", 10)
        (again,) = await backends(watcher)
        assert again != pid
    finally:
        await recorder.aclose()
        await watcher.close()
    rows = await read_status(pg_dsn)
    assert [(r.store, r.total_records, r.runs) for r in rows] == [
        ("s0", 10, 2), ("s1", 11, 2), ("s2", 2, 1), ("s3", 3, 1), ("s4", 4, 1)
    ]  # fmt: skip


async def test_a_store_that_fails_part_way_counts_the_records_it_committed(pg_dsn: str) -> None:
    """Its committed batches stay, and the status counts them (it used to say 0)."""
    faults = FaultConfig(
        seed=3, rates={"latency": 1.0}, latency_seconds=0.15, schedule={25: "foreign_next"}
    )
    config = EmulatorConfig(integrations=1, jobs_per_integration=1, faults=faults)
    async with EmulatorFleet(1, config=config, logs=300) as fleet:
        store = parse_stores(fleet.stores_toml(rate_limit=0, page_size=10, scope="all"))[0]
        outcome = await run_store(store, pg_dsn, env=fleet.env())
        assert outcome.outcome == "failed", outcome
        assert outcome.error is not None and "base_url" in outcome.error  # what to do
        assert "please report" not in outcome.error  # a refused next link is no bug
        stored = await read_store(pg_dsn, "sendcloud", store.name)
        assert 0 < outcome.records == len(stored.logs) < 300
        (row,) = await read_status(pg_dsn)
        assert row.last_outcome == "failed"
        assert row.total_records == outcome.records
