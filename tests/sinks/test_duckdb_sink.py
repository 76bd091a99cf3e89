"""The DuckDB sink against real files: tables, round trip, duplicates, all-or-nothing
batches, cancellation, ids, integrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import duckdb
import pytest

from integration_logs_async.sinks import (
    SinkError,
    StoreKey,
    parse_sink_url,
)
from integration_logs_async.sinks._duckdb import DuckDBSink
from integration_logs_async.sinks._duckdb_sql import takes_zstd

from ._filesinks import PROVIDER, STORE, log_rows, utc

KEY = StoreKey(PROVIDER, STORE, "logs:all")


def sink_at(path: Path, table: str = "", **options: str) -> DuckDBSink:
    query = "&".join(f"{k}={v}" for k, v in ({"table": table} | options).items() if v)
    return DuckDBSink(parse_sink_url(f"duckdb://{path}" + (f"?{query}" if query else "")))


def query(path: Path, sql: str) -> list[Any]:
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


def arrow_rows(path: Path, sql: str) -> list[dict[str, Any]]:
    """Rows through Arrow (duckdb 1.1 needs pytz for aware datetimes in fetchall)."""
    with duckdb.connect(str(path)) as con:
        relation = con.sql(sql)
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        rows: list[dict[str, Any]] = fetch().to_pylist()
        return rows


async def test_tables_created_and_every_column_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    rows = log_rows(0, 30)
    sink = sink_at(path)
    assert await sink.open(KEY) is None
    assert await sink.write(rows, b'{"cursor": "c1"}') == 30
    await sink.close()
    await sink.close()  # idempotent

    tables = {name for (name,) in query(path, "SELECT table_name FROM information_schema.tables")}
    assert tables == {
        "integration_logs",
        "integration_logs_integrations",
        "integration_logs_state",
        "integration_logs_meta",
    }
    types = dict(
        query(
            path,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'integration_logs'",
        )
    )
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["raw"] == "JSON"
    assert types["status_code"] == "INTEGER"
    read = arrow_rows(path, "SELECT * FROM integration_logs ORDER BY CAST(id[5:] AS INTEGER)")
    assert len(read) == 30
    for written, got in zip(rows, read, strict=True):
        expected = list(written)
        expected[5] = utc(written[5])
        expected[12] = written[12].decode()
        assert list(got.values()) == expected
    assert read[2]["created_at"] is None and read[2]["succeeded"] is None  # NULLs stay NULL
    assert query(path, "SELECT value FROM integration_logs_meta") == [("1",)]

    again = sink_at(path)
    assert await again.open(KEY) == b'{"cursor": "c1"}'
    await again.close()


async def test_duplicates_are_dropped_and_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    sink = sink_at(path)
    await sink.open(KEY)
    assert await sink.write(log_rows(0, 10), b"{}") == 10
    assert await sink.write(log_rows(5, 10), b"{}") == 5  # 5..9 were there
    twice = log_rows(20, 3) + log_rows(20, 1)  # the same key twice in one batch
    assert await sink.write(twice, b"{}") == 3
    await sink.close()
    assert query(path, "SELECT count(*) FROM integration_logs") == [(18,)]


async def test_a_failed_batch_leaves_neither_rows_nor_state(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    sink = sink_at(path)
    await sink.open(KEY)
    await sink.write(log_rows(0, 5), b'{"n": 1}')
    # the rows go in first, then the state is refused by its JSON column: all rolled back
    with pytest.raises(SinkError, match="Malformed JSON"):
        await sink.write(log_rows(5, 5), b"this state is not JSON")
    assert await sink.write([], b'{"n": 3}') == 0  # the sink is still usable
    await sink.close()
    assert query(path, "SELECT count(*) FROM integration_logs") == [(5,)]
    reopened = sink_at(path)
    assert await reopened.open(KEY) == b'{"n": 3}'
    await reopened.close()


async def test_a_cancelled_write_is_all_or_nothing_and_the_sink_closes(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    sink = sink_at(path)
    await sink.open(KEY)
    task = asyncio.create_task(sink.write(log_rows(0, 20_000), b'{"n": 1}'))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sink.close()
    count = query(path, "SELECT count(*) FROM integration_logs")[0][0]
    state = query(path, "SELECT count(*) FROM integration_logs_state")[0][0]
    assert (count, state) in {(0, 0), (20_000, 1)}


async def test_lone_surrogates_are_written_as_replacement_characters(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    rows = log_rows(0, 2)
    rows[0] = (*rows[0][:10], "bad \ud800 text", rows[0][11], b'{"a": "\\ud800"}')
    sink = sink_at(path)
    await sink.open(KEY)
    assert await sink.write(rows, b"{}") == 2
    await sink.close()
    assert query(path, "SELECT error, raw FROM integration_logs WHERE id = 'log-0'") == [
        ("bad \ufffd text", '{"a": "\\ufffd"}')
    ]
    # raw goes in unparsed (Arrow's JSON type): what DuckDB's JSON functions read is valid
    assert query(path, "SELECT count(*) FROM integration_logs WHERE json_valid(raw)") == [(2,)]
    assert query(path, "SELECT typeof(raw) FROM integration_logs LIMIT 1") == [("JSON",)]


async def _threads(sink: DuckDBSink) -> int:
    con = sink._con  # the sink's own connection, read in its worker thread
    assert con is not None
    row = await sink._running().run(
        lambda: con.execute("SELECT current_setting('threads')").fetchone()
    )
    assert row is not None
    return int(row[0])


async def test_threads_is_a_positive_count(tmp_path: Path) -> None:
    sink = sink_at(tmp_path / "default.duckdb")
    await sink.open(KEY)
    assert await _threads(sink) == 1  # the writes are one ordered stream (see the module)
    await sink.close()
    sink = sink_at(tmp_path / "two.duckdb", threads="2")
    await sink.open(KEY)
    assert await _threads(sink) == 2
    assert await sink.write(log_rows(0, 3), b"{}") == 3
    await sink.close()
    for bad in ("0", "two", "-1"):
        with pytest.raises(ValueError, match=f"threads='{bad}'"):
            await sink_at(tmp_path / f"{bad}.duckdb", threads=bad).open(KEY)


def _has_optimistic_write_setting() -> bool:
    with duckdb.connect() as con:
        found = con.execute(
            "SELECT count(*) FROM duckdb_settings() WHERE name = 'enable_optimistic_write'"
        ).fetchone()
    return bool(found and found[0])


async def test_a_full_batch_is_one_row_group_and_spills_go_beside_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "logs.duckdb"
    sink = sink_at(path)
    await sink.open(KEY)
    full = sink.batch_records
    assert await sink.write(log_rows(0, full), b"{}") == full
    assert await sink.write(log_rows(full, full), b"{}") == full
    assert await sink.write(log_rows(2 * full, 100), b"{}") == 100
    con = sink._con
    assert con is not None
    groups, spills = await sink._running().run(
        lambda: (
            con.execute(
                "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('integration_logs')"
            ).fetchall(),
            con.execute("SELECT current_setting('temp_directory')").fetchall(),
        )
    )
    await sink.close()
    # each full batch moved in as a row group of its own, the last batch in a third (releases
    # without the setting: DuckDB's own row groups, which hold all three batches)
    assert groups == [(3,)] if _has_optimistic_write_setting() else [(1,)]
    assert spills == [(f"{path}.tmp",)]  # as when DuckDB opens the file itself
    assert query(path, "SELECT count(*), count(DISTINCT id) FROM integration_logs") == [
        (2 * full + 100, 2 * full + 100)
    ]


@pytest.mark.parametrize(
    ("label", "takes"),
    [
        ("v2.0.0+", True),
        ("v1.2.0+", True),
        ("v1.0.0 - v1.1.3", False),
        ("v1.0.0+", False),
        ("v0.10.2", False),
        ("", False),
    ],
)
def test_zstd_from_storage_version_1_2(label: str, takes: bool) -> None:
    assert takes_zstd(label) is takes


async def test_raw_is_stored_with_zstd_where_the_file_allows_it(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    sink = sink_at(path)
    await sink.open(KEY)
    assert await sink.write(log_rows(0, 50), b"{}") == 50
    await sink.close()
    [(tags,)] = query(path, "SELECT tags FROM duckdb_databases() WHERE NOT internal")
    [(ddl,)] = query(path, "SELECT sql FROM duckdb_tables() WHERE table_name = 'integration_logs'")
    kinds = query(
        path,
        "SELECT DISTINCT compression FROM pragma_storage_info('integration_logs') "
        "WHERE column_name = 'raw' AND segment_type <> 'VALIDITY'",
    )
    if takes_zstd(str(tags.get("storage_version", ""))):  # files DuckDB 2 creates
        assert "raw JSON USING COMPRESSION ZSTD" in ddl and kinds == [("ZSTD",)]
        assert "url VARCHAR," in ddl  # the short columns keep DuckDB's own choice
    else:  # an older file would keep the column uncompressed: not asked for
        assert "COMPRESSION" not in ddl.upper()


async def test_ids_are_the_stores_own(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    sink = sink_at(path)
    await sink.open(KEY)
    await sink.write(log_rows(0, 7) + log_rows(100, 2, store="another"), b"{}")
    found = [i async for batch in sink.ids() for i in batch]
    await sink.close()
    assert sorted(found) == sorted(f"log-{i}" for i in range(7))


async def test_integrations_are_upserted_and_join_to_failures(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    sink = sink_at(path, table="shop_logs")
    await sink.open(KEY)
    await sink.write(log_rows(0, 12), b"{}")
    await sink.write_integrations(
        [
            (PROVIDER, STORE, "int-0", "Old name", "shopify", "active", b'{"id": 0}'),
            (PROVIDER, STORE, "int-1", "Woo", "woocommerce", "active", b'{"id": 1}'),
        ]
    )
    await sink.write_integrations(
        [(PROVIDER, STORE, "int-0", "Shop A", "shopify", "paused", b'{"id": 0, "v": 2}')]
    )
    await sink.close()
    assert query(path, "SELECT id, name, status, raw FROM shop_logs_integrations ORDER BY id") == [
        ("int-0", "Shop A", "paused", '{"id": 0, "v": 2}'),
        ("int-1", "Woo", "active", '{"id": 1}'),
    ]
    failures = query(
        path,
        "SELECT i.name, count(*) AS failures FROM shop_logs l JOIN shop_logs_integrations i "
        "USING (provider, store) WHERE i.id = l.integration_id AND NOT l.succeeded "
        "GROUP BY i.name ORDER BY failures DESC, i.name",
    )
    assert failures == [("Woo", 2)]  # int-1 failed at 1 and 9 (5 has no integration)


async def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    sink = sink_at(tmp_path / "logs.duckdb")
    await sink.open(KEY)
    await sink.close()
    with pytest.raises(RuntimeError, match="not open"):
        await sink.write(log_rows(0, 1), b"{}")
