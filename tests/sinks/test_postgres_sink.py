"""PostgreSQL sink against a real server: tables, round trips, duplicates, state, migrations."""

from __future__ import annotations

import asyncio
import json

import pytest

from integration_logs_async.sinks import (
    SCHEMA_VERSION,
    SinkSchemaError,
    StoreKey,
    open_sink,
)
from integration_logs_async.sinks import _postgres_sql as sql
from integration_logs_async.sinks._postgres import MigrationStep, PostgresSink, _migrate
from integration_logs_async.sinks._schema import TableNames

from ._postgres_helpers import KEY, admin, make_rows, opened, sink_for

_COLUMNS = (
    "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
    "WHERE table_name = $1 ORDER BY ordinal_position"
)
_PKEY = (
    "SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i "
    "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
    "WHERE i.indrelid = $1::regclass AND i.indisprimary"
)


async def test_open_sink_gives_a_postgres_sink(pg_dsn: str) -> None:
    sink = open_sink(pg_dsn)
    assert isinstance(sink, PostgresSink)
    assert sink.unique is True
    assert "Pg-test-Secret" not in repr(sink)


async def test_the_server_probes_a_silent_harvests_connection(pg_dsn: str) -> None:
    # a harvest whose machine dies must not hold its store's writer lock for the OS
    # default of two hours: the session asks the server to probe it (over TCP, as here)
    async with opened(pg_dsn) as sink:
        conn = sink._conn  # the sink's own session: the settings are per session
        assert conn is not None
        shown = [
            await conn.fetchval(f"SHOW {name}")
            for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")
        ]
    assert shown == ["30s", "10s", "3"] or shown == ["30", "10", "3"]


async def test_first_open_creates_the_four_tables(pg_dsn: str) -> None:
    async with opened(pg_dsn) as sink:
        assert await sink.write([], b"{}") == 0
    async with admin(pg_dsn) as conn:
        logs = [tuple(r) for r in await conn.fetch(_COLUMNS, "integration_logs")]
        assert logs == [
            ("provider", "text", "NO"),
            ("store", "text", "NO"),
            ("id", "text", "NO"),
            ("integration_id", "text", "YES"),
            ("job_id", "text", "YES"),
            ("created_at", "timestamp with time zone", "YES"),
            ("succeeded", "boolean", "YES"),
            ("status_code", "integer", "YES"),
            ("method", "text", "YES"),
            ("url", "text", "YES"),
            ("error", "text", "YES"),
            ("attempt", "integer", "YES"),
            ("raw", "jsonb", "NO"),
        ]
        assert await conn.fetchval(_PKEY, "integration_logs") == ["provider", "store", "id"]
        assert await conn.fetchval(_PKEY, "integration_logs_integrations") == [
            "provider",
            "store",
            "id",
        ]
        assert await conn.fetchval(_PKEY, "integration_logs_state") == [
            "provider",
            "store",
            "harvest",
        ]
        index = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'integration_logs_created_at_idx'"
        )
        assert "(provider, store, created_at)" in index
        version = await conn.fetchval(
            "SELECT value FROM integration_logs_meta WHERE key = 'schema_version'"
        )
        assert version == str(SCHEMA_VERSION)


async def test_table_name_from_the_url(pg_dsn: str) -> None:
    async with opened(pg_dsn, table="Shop_Logs") as sink:
        await sink.write(make_rows(2), b"{}")
    async with admin(pg_dsn) as conn:
        assert await conn.fetchval('SELECT count(*) FROM "Shop_Logs"') == 2
        assert await conn.fetchval('SELECT count(*) FROM "Shop_Logs_state"') == 1
        assert await conn.fetchval("SELECT to_regclass('integration_logs')") is None


async def test_rows_round_trip(pg_dsn: str) -> None:
    rows = make_rows(50)
    async with opened(pg_dsn) as sink:
        assert await sink.write(rows, b'{"cursor": "abc"}') == 50
    async with admin(pg_dsn) as conn:
        found = await conn.fetch(
            f"SELECT {', '.join(sql.LOG_NAMES[:-1])}, raw::text FROM integration_logs "
            "ORDER BY id::int"
        )
    assert [tuple(r)[:-1] for r in found] == [row[:-1] for row in rows]
    # jsonb keeps the JSON value (whitespace and key order are normalized), not the bytes
    assert [json.loads(r[-1]) for r in found] == [json.loads(row[-1]) for row in rows]


async def test_duplicates_are_dropped_and_counted(pg_dsn: str) -> None:
    async with opened(pg_dsn) as sink:
        assert await sink.write(make_rows(10), b'{"n": 1}') == 10
        assert await sink.write(make_rows(10, start=5), b'{"n": 2}') == 5
        other = make_rows(3, store="shop-b")
        assert await sink.write(other, b'{"n": 3}') == 3
    async with admin(pg_dsn) as conn:
        assert await conn.fetchval("SELECT count(*) FROM integration_logs") == 18


async def _staged(sink: PostgresSink) -> bool:
    """Whether the sink's session made its staging table (the path for repeated keys)."""
    conn = sink._conn
    assert conn is not None
    found = await conn.fetchval("SELECT to_regclass('pg_temp.' || $1)::text", sql.STAGING)
    return found is not None


async def test_new_rows_are_copied_straight_in_and_repeated_keys_staged(pg_dsn: str) -> None:
    async with opened(pg_dsn) as sink:
        assert await sink.write(make_rows(10), b'{"n": 1}') == 10
        assert await sink.write(make_rows(5, start=10), b'{"n": 2}') == 5
        assert not await _staged(sink)  # the usual batches: one COPY into the table
        # a batch partly there already: its direct COPY is rolled back (to its savepoint),
        # the staging path skips the known keys, and the state commits with the new rows
        assert await sink.write(make_rows(10, start=12), b'{"n": 3}') == 7
        assert await _staged(sink)
        assert await sink.write(make_rows(2, start=22), b'{"n": 4}') == 2
    async with admin(pg_dsn) as conn:
        ids = await conn.fetch("SELECT id FROM integration_logs ORDER BY id::int")
        state = await conn.fetchval("SELECT state::text FROM integration_logs_state")
    assert [r[0] for r in ids] == [str(i) for i in range(24)]
    assert json.loads(state) == {"n": 4}


async def test_state_is_returned_at_the_next_open(pg_dsn: str) -> None:
    async with opened(pg_dsn) as sink:
        await sink.write(make_rows(3), b'{"streams": {"a": 1}}')
        await sink.write(make_rows(3, start=3), b'{"streams": {"a": 2}}')
    again = sink_for(pg_dsn)
    try:
        state = await again.open(KEY)
        assert state is not None and json.loads(state) == {"streams": {"a": 2}}
    finally:
        await again.close()
    other = sink_for(pg_dsn)
    try:
        assert await other.open(StoreKey(KEY.provider, KEY.store, "other-harvest")) is None
    finally:
        await other.close()


async def test_integrations_are_upserted(pg_dsn: str) -> None:
    async with opened(pg_dsn) as sink:
        await sink.write_integrations(
            [
                ("sendcloud", "shop-a", "7", "Shop 7", "shopify", "active", b'{"id": 7}'),
                ("sendcloud", "shop-a", "8", None, None, None, b'{"id": 8}'),
            ]
        )
        await sink.write_integrations(
            [("sendcloud", "shop-a", "7", "Shop Seven", "shopify", "paused", b'{"id": 7}')]
        )
        await sink.write(make_rows(8), b"{}")
    async with admin(pg_dsn) as conn:
        got = await conn.fetch(
            "SELECT id, name, status FROM integration_logs_integrations ORDER BY id"
        )
        assert [tuple(r) for r in got] == [("7", "Shop Seven", "paused"), ("8", None, None)]
        joined = await conn.fetchval(
            "SELECT count(*) FROM integration_logs l JOIN integration_logs_integrations i "
            "USING (provider, store) WHERE i.id = l.integration_id AND i.name = 'Shop Seven'"
        )
        assert joined == 0  # integration_id 7 is not among make_rows' (0..3)


async def test_ids_lists_the_store_in_batches(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from integration_logs_async.sinks import _postgres

    monkeypatch.setattr(_postgres, "IDS_BATCH", 4)
    async with opened(pg_dsn) as sink:
        await sink.write(make_rows(10), b"{}")
        await sink.write(make_rows(5, store="shop-b"), b"{}")
        batches = [batch async for batch in sink.ids()]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(int(i) for b in batches for i in b) == list(range(10))


async def test_two_first_opens_at_once_do_not_race(pg_dsn: str) -> None:
    sinks = [sink_for(pg_dsn) for _ in range(4)]
    keys = [StoreKey("sendcloud", f"shop-{i}", "h") for i in range(4)]
    try:
        states = await asyncio.gather(*(s.open(k) for s, k in zip(sinks, keys, strict=True)))
        assert states == [None] * 4
    finally:
        for sink in sinks:
            await sink.close()


async def test_existing_table_with_another_schema(pg_dsn: str) -> None:
    async with admin(pg_dsn) as conn:
        await conn.execute("CREATE TABLE integration_logs (id integer, created_at text)")
    sink = sink_for(pg_dsn)
    with pytest.raises(SinkSchemaError) as caught:
        await sink.open(KEY)
    message = str(caught.value)
    assert "integration_logs" in message and "?table=" in message
    assert "no column provider" in message and "created_at is text" in message
    await sink.close()


async def test_newer_schema_version_refused(pg_dsn: str) -> None:
    async with opened(pg_dsn) as sink:
        await sink.write(make_rows(2), b"{}")
    async with admin(pg_dsn) as conn:
        await conn.execute(
            f"UPDATE integration_logs_meta SET value = '{SCHEMA_VERSION + 1}' "
            "WHERE key = 'schema_version'"
        )
    sink = sink_for(pg_dsn)
    with pytest.raises(SinkSchemaError, match=r"newer release.*upgrade"):
        await sink.open(KEY)
    await sink.close()


async def test_version_0_is_migrated(pg_dsn: str) -> None:
    names = TableNames("integration_logs")
    async with admin(pg_dsn) as conn:  # version 0: a log table alone, no meta
        await conn.execute(sql.create_logs(names))
        await conn.execute(
            "INSERT INTO integration_logs (provider, store, id, raw) "
            "VALUES ('sendcloud', 'shop-a', '1', '{\"old\": true}')"
        )
    async with opened(pg_dsn) as sink:
        assert await sink.write(make_rows(3), b'{"s": 1}') == 2  # id 1 is already there
    async with admin(pg_dsn) as conn:
        assert await conn.fetchval(sql.read_version(names)) == str(SCHEMA_VERSION)
        assert await conn.fetchval("SELECT raw->>'old' FROM integration_logs WHERE id = '1'")
        assert await conn.fetchval("SELECT count(*) FROM integration_logs_state") == 1


async def test_migrate_runs_steps_in_order_and_refuses_a_gap(pg_dsn: str) -> None:
    names = TableNames("integration_logs")
    done: list[int] = []

    def step(n: int) -> MigrationStep:
        async def run(conn: object, _names: TableNames) -> None:
            done.append(n)

        return run

    async with opened(pg_dsn):
        pass
    async with admin(pg_dsn) as conn:
        async with conn.transaction():
            await _migrate(conn, names, 1, steps={1: step(1), 2: step(2)}, to_version=3)
        assert done == [1, 2]
        assert await conn.fetchval(sql.read_version(names)) == "3"
        with pytest.raises(SinkSchemaError, match="no migration from it"):
            await _migrate(conn, names, 1, steps={1: step(1)}, to_version=3)


async def test_existing_tables_with_compatible_types_are_used(pg_dsn: str) -> None:
    async with admin(pg_dsn) as conn:  # made by hand: json, varchar, bigint
        await conn.execute(
            "CREATE TABLE integration_logs (provider varchar(40) NOT NULL, store text NOT NULL, "
            "id varchar NOT NULL, integration_id text, job_id text, created_at timestamptz, "
            "succeeded boolean, status_code bigint, method text, url text, error text, "
            "attempt integer, raw json NOT NULL, note text, PRIMARY KEY (provider, store, id))"
        )
    async with opened(pg_dsn) as sink:
        assert await sink.write(make_rows(3), b'{"n": 1}') == 3
        assert await sink.write(make_rows(3), b'{"n": 2}') == 0
    async with admin(pg_dsn) as conn:
        raw = await conn.fetchval("SELECT raw::text FROM integration_logs WHERE id = '1'")
        assert json.loads(raw) == json.loads(make_rows(2)[1][-1])
