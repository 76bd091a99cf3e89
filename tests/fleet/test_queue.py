"""The fleet's queue in-process, against a real PostgreSQL and real emulators: ``enqueue``
(one waiting job per store, references only in the job), the schedule (``--every``, ticks
that never double a store), the stalled-job reaper, and a worker harvesting every store
exactly once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest

from integration_logs_async.cli import main
from integration_logs_async.emulator import EmulatorConfig, EmulatorFleet
from integration_logs_async.fleet import _queue as queue_module
from integration_logs_async.fleet._metrics import PREFIX
from integration_logs_async.fleet._queue import (
    TASK_NAME,
    Queue,
    enqueue,
    open_queue,
    store_lock,
)
from integration_logs_async.fleet._schedule import (
    SCHEDULE_TABLE,
    format_every,
    parse_every,
    tick,
)
from integration_logs_async.fleet._stores import StoreConfig, parse_stores
from integration_logs_async.fleet._worker import check_timing, reap_stalled, run_worker
from integration_logs_async.sinks import SinkAuthError, StoreKey, open_sink

from .._support.postgres import PASSWORD, PostgresServer
from .test_run import check_exactly_once
from .test_status_metrics import WRONG, labels, scrape

SMALL = EmulatorConfig(integrations=3, jobs_per_integration=1)
WAIT = 120.0  # seconds: bounds a hang, not a timing assertion


def stores_of(fleet: EmulatorFleet) -> list[StoreConfig]:
    return parse_stores(fleet.stores_toml(rate_limit=0))


async def rows(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(sql, args or None)
        return list(await cursor.fetchall()) if cursor.description else []


async def jobs(dsn: str) -> list[tuple[Any, ...]]:
    """(id, store name, status, lock, queueing_lock, args) of every store job, by id."""
    return await rows(
        dsn,
        "SELECT id, args->'store'->>'name', status::text, lock, queueing_lock, args "
        "FROM procrastinate_jobs WHERE task_name = %s ORDER BY id",
        TASK_NAME,
    )


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll the database until ``check`` holds; fail naming ``what`` after :data:`WAIT`."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)


# -- pure parts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("90", 90), ("2.5m", 150), ("0", 0)],
)
def test_every_parses_seconds_minutes_hours(text: str, seconds: float) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "m", "-1m", "0.5s", "five minutes"])
def test_every_refuses_what_is_not_a_period(text: str) -> None:
    with pytest.raises(ValueError, match="--every"):
        parse_every(text)


def test_every_formats_back() -> None:
    assert [format_every(s) for s in (30, 300, 3600, 90, 86400)] == ["30s", "5m", "1h", "90s", "1d"]


def test_stall_must_be_three_heartbeats() -> None:
    check_timing(1.0, 3.0)
    with pytest.raises(ValueError, match="at least 3 x the heartbeat"):
        check_timing(1.0, 2.9)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="heartbeat must be"):
            check_timing(bad, 10.0)


# -- enqueue ------------------------------------------------------------------------------


async def test_enqueue_twice_leaves_one_waiting_job_per_store_with_references_only(
    pg_dsn: str,
) -> None:
    async with EmulatorFleet(3, config=SMALL, logs=10) as fleet:
        stores, env = stores_of(fleet), fleet.env()
        first = await enqueue(stores, pg_dsn)
        assert [(s.store, s.status) for s in first.stores] == [
            (name, "queued") for name in fleet.names
        ]
        second = await enqueue(stores, pg_dsn)
        assert [(s.store, s.status) for s in second.stores] == [
            (name, "already waiting") for name in fleet.names
        ]
        assert second.count("already waiting") == 3 and second.count("queued") == 0
        found = await jobs(pg_dsn)
        assert [(j[1], j[2]) for j in found] == [(name, "todo") for name in fleet.names]
        for (_, name, _, lock, queueing_lock, args), store in zip(found, stores, strict=True):
            assert lock == queueing_lock == store_lock(name)
            assert args == {"store": json.loads(json.dumps(store.to_json()))}
            text = json.dumps(args)
            assert "$EMU_STORE_" in text  # references...
            for secret in env.values():  # ...never what they refer to
                if "sk" in secret or "secret" in secret:
                    assert secret not in text
            assert PASSWORD not in text


async def test_enqueue_refuses_wrong_password_with_a_clear_line(postgres: PostgresServer) -> None:
    with pytest.raises(SinkAuthError, match="queue database") as caught:
        await enqueue([], postgres.wrong_password_dsn())
    assert "Wrong-Password" not in str(caught.value)


async def test_enqueue_refuses_a_dsn_that_is_not_postgresql(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        await enqueue([], f"duckdb:///{tmp_path}/x.duckdb")


# -- schedule -----------------------------------------------------------------------------


async def schedule_rows(dsn: str) -> dict[str, tuple[float, Any]]:
    found = await rows(dsn, f"SELECT store, every_seconds, next_run_at FROM {SCHEDULE_TABLE}")
    return {str(r[0]): (float(r[1]), r[2]) for r in found}


async def test_every_schedules_plain_enqueue_leaves_it_and_every_0_stops_it(pg_dsn: str) -> None:
    async with EmulatorFleet(2, config=SMALL, logs=5) as fleet:
        stores = stores_of(fleet)
        result = await enqueue(stores, pg_dsn, every=300)
        assert result.count("queued") == 2 and result.every == 300
        scheduled = await schedule_rows(pg_dsn)
        assert sorted(scheduled) == fleet.names
        assert {every for every, _ in scheduled.values()} == {300.0}
        await enqueue(stores[:1], pg_dsn)  # no --every: the schedule stays as it was
        assert await schedule_rows(pg_dsn) == scheduled
        stopped = await enqueue(stores[:1], pg_dsn, every=0)
        assert [(s.store, s.status) for s in stopped.stores] == [
            (fleet.names[0], "schedule stopped")
        ]
        assert sorted(await schedule_rows(pg_dsn)) == fleet.names[1:]
        again = await enqueue(stores[:1], pg_dsn, every=0)
        assert [s.status for s in again.stores] == ["not scheduled"]
        assert len(await jobs(pg_dsn)) == 2  # --every 0 queues nothing


async def test_two_ticks_at_once_defer_each_due_store_once(pg_dsn: str) -> None:
    async with EmulatorFleet(3, config=SMALL, logs=5) as fleet:
        stores = stores_of(fleet)
        await enqueue(stores, pg_dsn, every=3600)
        await rows(pg_dsn, "DELETE FROM procrastinate_jobs")
        await rows(pg_dsn, f"UPDATE {SCHEDULE_TABLE} SET next_run_at = now() - interval '90 min'")
        deferred: list[str] = []
        first_holds = asyncio.Event()
        release = asyncio.Event()

        async with open_queue(pg_dsn) as queue:

            async def slow_defer(name: str, definition: Any) -> None:
                deferred.append(name)
                first_holds.set()
                await release.wait()  # the first tick holds its rows while the second runs
                await queue.defer(definition)

            async def fast_defer(name: str, definition: Any) -> None:
                deferred.append(name)
                await queue.defer(definition)

            async with queue.connection() as one, queue.connection() as two:
                first = asyncio.create_task(tick(one, slow_defer))
                await first_holds.wait()
                # without SKIP LOCKED this would wait for the first tick: a timeout, failing
                second = await asyncio.wait_for(tick(two, fast_defer), 30)
                assert second.deferred == ()  # every due row is the first tick's
                release.set()
                done = await first
        assert sorted(done.deferred) == sorted(deferred) == fleet.names
        assert sorted(j[1] for j in await jobs(pg_dsn)) == fleet.names
        after = await schedule_rows(pg_dsn)
        nows = await rows(pg_dsn, "SELECT now()")
        # next due: the first whole period after now (30 min ahead), not one per missed period
        for _, next_run_at in after.values():
            ahead = (next_run_at - nows[0][0]).total_seconds()
            assert 0 < ahead <= 3600
        async with open_queue(pg_dsn) as queue, queue.connection() as conn:
            assert (await tick(conn, fast_defer)).deferred == ()  # nothing due any more


# -- the reaper ---------------------------------------------------------------------------


@asynccontextmanager
async def fake_worker(queue: Queue) -> AsyncIterator[int]:
    """A registered worker id (that never beats unless the test says so)."""
    worker_id = await queue.app.job_manager.register_worker()
    yield worker_id


async def test_reaper_retries_jobs_of_silent_workers_only(pg_dsn: str) -> None:
    async with EmulatorFleet(3, config=SMALL, logs=5) as fleet:
        stores = stores_of(fleet)
        await enqueue(stores, pg_dsn)
        async with open_queue(pg_dsn) as queue:
            manager = queue.app.job_manager
            async with fake_worker(queue) as dead, fake_worker(queue) as alive:
                taken = [await manager.fetch_job(None, dead), await manager.fetch_job(None, alive)]
                assert all(job is not None for job in taken)
                await rows(
                    pg_dsn,
                    "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 min' "
                    "WHERE id = %s",
                    dead,
                )
                reaped = await reap_stalled(queue.app, stall=10)
                assert [(r.store, r.action) for r in reaped] == [(fleet.names[0], "retried")]
                assert await reap_stalled(queue.app, stall=10) == []  # idempotent
        found = {j[1]: j[2] for j in await jobs(pg_dsn)}
        assert found == {fleet.names[0]: "todo", fleet.names[1]: "doing", fleet.names[2]: "todo"}
        attempts = await rows(
            pg_dsn,
            "SELECT attempts FROM procrastinate_jobs WHERE args->'store'->>'name' = %s",
            fleet.names[0],
        )
        assert attempts == [(1,)]


async def test_reaper_aborts_a_stalled_job_whose_store_waits_already(pg_dsn: str) -> None:
    async with EmulatorFleet(1, config=SMALL, logs=5) as fleet:
        stores = stores_of(fleet)
        await enqueue(stores, pg_dsn)
        async with open_queue(pg_dsn) as queue, fake_worker(queue) as dead:
            assert await queue.app.job_manager.fetch_job(None, dead) is not None
            second = await enqueue(stores, pg_dsn)  # one runs (stalled), one waits
            assert [s.status for s in second.stores] == ["queued"]
            await rows(
                pg_dsn,
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 min'",
            )
            reaped = await reap_stalled(queue.app, stall=10)
            assert [(r.store, r.action) for r in reaped] == [(fleet.names[0], "superseded")]
        assert [j[2] for j in await jobs(pg_dsn)] == ["aborted", "todo"]


# -- a worker in this process -------------------------------------------------------------


async def test_two_workers_harvest_every_store_once_and_tick_each_due_store_once(
    pg_dsn: str,
) -> None:
    async with EmulatorFleet(4, config=SMALL, logs=[30, 50, 70, 90]) as fleet:
        stores, env = stores_of(fleet), fleet.env()
        await enqueue(stores, pg_dsn, every=3600)
        lines: list[list[str]] = [[], []]
        workers = [
            asyncio.create_task(
                run_worker(
                    pg_dsn, concurrency=2, env=env, report=lines[i].append, heartbeat=0.2, stall=2
                )
            )
            for i in range(2)
        ]
        try:

            async def all_succeeded() -> bool:
                found = await jobs(pg_dsn)
                return len(found) == 4 and all(j[2] == "succeeded" for j in found)

            await until(all_succeeded, "the first run of every store")
            # every store due now: the two workers' ticks queue each once
            await rows(pg_dsn, f"UPDATE {SCHEDULE_TABLE} SET next_run_at = now()")

            async def second_round_done() -> bool:
                found = await jobs(pg_dsn)
                return len(found) == 8 and all(j[2] == "succeeded" for j in found)

            await until(second_round_done, "the scheduled run of every store")
            await asyncio.sleep(1.0)  # several more ticks of both workers: nothing more is due
            assert len(await jobs(pg_dsn)) == 8
        finally:
            for worker in workers:
                worker.cancel()
            results = await asyncio.gather(*workers, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        ticks = [line for both in lines for line in both if line.endswith("due, queued")]
        assert sorted(ticks) == sorted(f"store {name!r}: due, queued" for name in fleet.names)
        for name, emu in zip(fleet.names, fleet.emulators, strict=True):
            await check_exactly_once(pg_dsn, name, emu)
        assert await rows(pg_dsn, "SELECT count(*) FROM procrastinate_workers") == [(0,)]


async def test_a_job_whose_store_is_locked_is_tried_again_until_it_harvests(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock may be held by a dead machine's session until the server notices: the job
    is tried again later, not ended, so the store is harvested once the lock is free."""
    monkeypatch.setattr(queue_module, "FLEET_LOCKED_RETRY_SECONDS", 0.3)
    async with EmulatorFleet(1, config=SMALL, logs=25) as fleet:
        (store,) = stores_of(fleet)
        holder = open_sink(pg_dsn)  # the dead machine's session, still holding the lock
        await holder.open(StoreKey(provider="sendcloud", store=store.name, harvest="other"))
        released = False
        await enqueue([store], pg_dsn)
        worker = asyncio.create_task(
            run_worker(pg_dsn, env=fleet.env(), report=lambda _: None, heartbeat=0.2, stall=2)
        )
        try:

            async def tried_twice() -> bool:
                found = await rows(pg_dsn, "SELECT status::text, attempts FROM procrastinate_jobs")
                return len(found) == 1 and found[0][0] == "todo" and found[0][1] >= 2

            await until(tried_twice, "the locked job to be tried again")
            await holder.close()
            released = True

            async def succeeded() -> bool:
                return [j[2] for j in await jobs(pg_dsn)] == ["succeeded"]

            await until(succeeded, "the job to harvest the store once the lock was free")
        finally:
            if not released:
                await holder.close()
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        await check_exactly_once(pg_dsn, store.name, fleet.emulators[0])


# -- the command line ---------------------------------------------------------------------

STORES_TOML = """
[[store]]
name = "shop-eu"
provider = "sendcloud"
base_url = "http://127.0.0.1:9/api/v2"
credentials = { public_key = "$SHOP_EU_PK", secret_key = "$SHOP_EU_SK" }
"""


def test_cli_enqueue_prints_each_store_then_a_total(
    pg_dsn: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stores = tmp_path / "stores.toml"
    stores.write_text(STORES_TOML)
    assert main(["fleet", "enqueue", str(stores), "--dsn", pg_dsn, "--every", "5m"]) == 0
    first = capsys.readouterr()
    out = first.out.splitlines()
    assert out[0].startswith("shop-eu: queued (job ")
    assert out[1:] == ["total: 1 store(s): 1 queued; scheduled every 5m"]
    assert first.err.splitlines() == [
        "queue: created procrastinate's schema (the queue's tables and functions)"
    ]
    assert main(["fleet", "enqueue", str(stores), "--dsn", pg_dsn, "--every", "0"]) == 0
    second = capsys.readouterr()
    assert second.out.splitlines() == [
        "shop-eu: schedule stopped",
        "total: 1 store(s): 1 schedule stopped",
    ]
    assert second.err == ""  # the schema is up to date: nothing to say


def test_cli_refuses_wrong_password_in_one_line_without_it(
    postgres: PostgresServer, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stores = tmp_path / "stores.toml"
    stores.write_text(STORES_TOML)
    dsn = postgres.wrong_password_dsn()
    assert main(["fleet", "enqueue", str(stores), "--dsn", dsn]) == 3
    assert main(["fleet", "worker", "--dsn", dsn]) == 3
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2 and all("refused the credentials" in line for line in lines)
    assert "Wrong-Password" not in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--heartbeat", "1", "--stall", "2"], "at least 3 x the heartbeat"),
        (["--grace", "-1"], "--grace must be"),
        (["--to", "duckdb:///tmp/x.duckdb"], "a fleet writes to PostgreSQL"),
    ],
)
def test_cli_worker_usage_errors(
    pg_dsn: str, args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fleet", "worker", "--dsn", pg_dsn, *args]) == 2
    assert says in capsys.readouterr().err


def test_cli_every_must_be_a_period(pg_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["fleet", "enqueue", "stores.toml", "--dsn", pg_dsn, "--every", "5x"])
    assert exited.value.code == 2
    assert "is not a period: write e.g. 30s, 5m or 1h" in capsys.readouterr().err


async def test_worker_serves_metrics_and_marks_a_failed_store_failed(pg_dsn: str) -> None:
    async with EmulatorFleet(2, config=SMALL, logs=[40, 10]) as fleet:
        stores, env = stores_of(fleet), fleet.env()
        good, bad = fleet.names
        secret = next(v for k, v in env.items() if k.endswith("_SK") and "001" in k)
        env = {**env, next(k for k, v in env.items() if v == secret): WRONG}
        await enqueue(stores, pg_dsn)
        lines: list[str] = []
        worker = asyncio.create_task(
            run_worker(pg_dsn, env=env, report=lines.append, metrics_port=0, heartbeat=0.2, stall=1)
        )
        try:

            async def both_ended() -> bool:
                return {j[2] for j in await jobs(pg_dsn)} <= {"succeeded", "failed"}

            await until(both_ended, "both jobs to end")
            port = int(
                next(line for line in lines if line.startswith("metrics:"))
                .split(":")[-1]
                .split("/")[0]
            )
            _, samples = await scrape(port)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        assert {j[1]: j[2] for j in await jobs(pg_dsn)} == {good: "succeeded", bad: "failed"}
        assert samples[(f"{PREFIX}_records_total", labels(good))] == 40
        assert samples[(f"{PREFIX}_runs_total", labels(bad, outcome="failed"))] == 1
        failed = [line for line in lines if line.startswith(f"store {bad!r}: failed")]
        assert len(failed) == 1 and "credentials" in failed[0]
        assert WRONG not in "\n".join(lines)
