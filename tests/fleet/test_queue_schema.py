"""The queue's schema (``fleet/_queue_schema.py``) against a real PostgreSQL: a new database
gets procrastinate's whole schema with every migration recorded; a schema an earlier release
made (procrastinate 3.2.2's, no record) is brought up to the installed procrastinate, ending
with the same functions, types and triggers as a new one, and the queue then works (a
stalled job retried, which procrastinate 3.4+ does with a function 3.2 lacks); a failed
migration leaves nothing applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from integration_logs_async.emulator import EmulatorFleet
from integration_logs_async.fleet import _queue_schema
from integration_logs_async.fleet._queue import enqueue, open_queue
from integration_logs_async.fleet._queue_schema import (
    FLOOR,
    MIGRATIONS_TABLE,
    plan_migrations,
    shipped_migrations,
)
from integration_logs_async.fleet._worker import reap_stalled
from integration_logs_async.sinks import SinkError

from .._support.postgres import PASSWORD, PostgresServer
from .test_queue import SMALL, jobs, rows, stores_of

OLD_SCHEMA = Path(__file__).parents[1] / "data" / "procrastinate-3.2.2-schema.sql"

CATALOG = """
SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'procrastinate%'
UNION ALL
SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
 WHERE t.typname LIKE 'procrastinate%' GROUP BY t.typname
UNION ALL
SELECT 'trigger ' || tgname || ' ' || tgrelid::regclass::text FROM pg_trigger
 WHERE tgname LIKE 'procrastinate%'
UNION ALL
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name LIKE 'procrastinate%'
UNION ALL
SELECT 'index ' || indexname FROM pg_indexes
 WHERE schemaname = 'public' AND tablename LIKE 'procrastinate%'
"""


async def catalog(dsn: str) -> list[str]:
    """procrastinate's functions (with argument types), enums, triggers, columns, indexes."""
    return sorted(str(row[0]) for row in await rows(dsn, CATALOG))


async def recorded(dsn: str) -> list[str]:
    return [str(r[0]) for r in await rows(dsn, f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY 1")]


def after_floor() -> list[str]:
    return [name for name in shipped_migrations() if name > FLOOR]


def test_plan_applies_what_is_not_recorded_and_on_an_old_schema_only_after_the_floor() -> None:
    shipped = ["03.01.00_01_pre_a", FLOOR, "03.03.00_01_pre_b", "03.04.00_50_post_c"]
    assert plan_migrations(shipped, set(), tracked=False) == shipped[2:]
    assert plan_migrations(shipped, set(shipped[:3]), tracked=True) == shipped[3:]
    assert plan_migrations(shipped, {"03.01.00_01_pre_a"}, tracked=True) == shipped[1:]
    assert plan_migrations(shipped, set(shipped), tracked=True) == []


def test_the_installed_procrastinate_ships_the_floor_and_names_sort_in_order() -> None:
    names = list(shipped_migrations())
    assert FLOOR in names  # the oldest release allowed (3.2.2) ships it
    assert names == sorted(names)
    assert all(name[:8].replace(".", "").isdigit() for name in names)


async def test_a_new_database_gets_the_whole_schema_and_every_migration_recorded(
    pg_dsn: str,
) -> None:
    async with open_queue(pg_dsn) as queue:
        assert queue.schema.created
        assert queue.schema.lines() == [
            "created procrastinate's schema (the queue's tables and functions)"
        ]
    assert await recorded(pg_dsn) == list(shipped_migrations())
    async with open_queue(pg_dsn) as queue:
        assert queue.schema.lines() == []
    async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
        change = await _queue_schema.bring_up_to_date(conn)
        await conn.rollback()
    assert change == _queue_schema.SchemaChange()  # nothing more to do


async def test_an_earlier_releases_schema_is_brought_up_to_date_and_works(
    postgres: PostgresServer, pg_dsn: str
) -> None:
    fresh = postgres.dsn(postgres.create_database())
    async with open_queue(fresh):
        pass
    await rows(pg_dsn, OLD_SCHEMA.read_text(encoding="utf-8"))  # no record: as 0.1 made it
    async with EmulatorFleet(1, config=SMALL, logs=5) as fleet:
        result = await enqueue(stores_of(fleet), pg_dsn)  # the first open migrates
        assert result.schema.applied == tuple(after_floor())
        assert result.schema.lines() == [
            f"applied procrastinate's migration {name}" for name in after_floor()
        ]
        assert await catalog(pg_dsn) == await catalog(fresh)
        assert await recorded(pg_dsn) == list(shipped_migrations())
        async with open_queue(pg_dsn) as queue:
            manager = queue.app.job_manager
            dead = await manager.register_worker()
            assert await manager.fetch_job(None, dead) is not None
            await rows(
                pg_dsn,
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 min'",
            )
            reaped = await reap_stalled(queue.app, stall=10)
            assert [(r.store, r.action) for r in reaped] == [(fleet.names[0], "retried")]
        assert [j[2] for j in await jobs(pg_dsn)] == ["todo"]


async def test_a_current_schema_without_a_record_is_recorded_without_harm(pg_dsn: str) -> None:
    async with open_queue(pg_dsn):
        pass
    before = await catalog(pg_dsn)
    await rows(pg_dsn, f"DROP TABLE {MIGRATIONS_TABLE}")
    async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
        change = await _queue_schema.bring_up_to_date(conn)
        await conn.commit()
    # replayed: those whose objects were there are "found", the idempotent ones re-applied
    assert sorted(change.applied + change.found) == after_floor()
    assert await catalog(pg_dsn) == before
    assert await recorded(pg_dsn) == list(shipped_migrations())


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        ("SELECT procrastinate_no_such_function()", "procrastinate_no_such_function"),
        # on a recorded database a duplicate is a failure too, never taken as "applied"
        ("CREATE TABLE procrastinate_jobs (id int)", "already exists"),
    ],
)
async def test_a_failed_migration_leaves_nothing_applied_and_says_where(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, bad: str, cause: str
) -> None:
    async with open_queue(pg_dsn):
        pass
    shipped = shipped_migrations()
    extra = {
        "98.00.00_01_pre_good": "CREATE TABLE procrastinate_added_by_test (id int)",
        "99.00.00_01_pre_bad": bad,
    }

    def with_extra() -> dict[str, Any]:
        return {**shipped, **extra}

    monkeypatch.setattr(_queue_schema, "shipped_migrations", with_extra)
    with pytest.raises(SinkError) as caught:
        async with open_queue(pg_dsn):
            pass
    message = str(caught.value)
    assert "the queue database" in message and cause in message
    assert PASSWORD not in message
    assert await rows(pg_dsn, "SELECT to_regclass('procrastinate_added_by_test')") == [(None,)]
    assert await recorded(pg_dsn) == list(shipped)
