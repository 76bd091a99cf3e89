"""The Parquet sink against a real directory: layout read by DuckDB and pyarrow, round trip,
state in the manifest, ids, integrations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from integration_logs_async.sinks import StoreKey, parse_sink_url
from integration_logs_async.sinks._arrow import log_table
from integration_logs_async.sinks._parquet import ParquetSink, _partitions

from ._filesinks import PROVIDER, STORE, log_rows, utc

KEY = StoreKey(PROVIDER, STORE, "logs:all")


def sink_at(path: Path) -> ParquetSink:
    return ParquetSink(parse_sink_url(f"parquet://{path}"))


def duck(sql: str) -> list[dict[str, Any]]:
    """Rows through Arrow (duckdb 1.1 needs pytz for aware datetimes in fetchall)."""
    with duckdb.connect() as con:
        relation = con.sql(sql)
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        rows: list[dict[str, Any]] = fetch().to_pylist()
        return rows


async def test_partitions_by_provider_and_day_readable_by_duckdb_and_pyarrow(
    tmp_path: Path,
) -> None:
    rows = log_rows(0, 30)
    sink = sink_at(tmp_path / "out")  # created: its parent exists
    assert await sink.open(KEY) is None
    assert await sink.write(rows, b'{"cursor": "c1"}') == 30
    await sink.close()
    await sink.close()  # idempotent

    days = sorted(p.name for p in (tmp_path / "out/logs/provider=sendcloud%2Fv3").iterdir())
    expected_days = sorted(
        {f"day={utc(r[5]).date()}" for r in rows if r[5] is not None} | {"day=unknown"}  # type: ignore[union-attr]
    )
    assert days == expected_days
    assert "day=2026-12-05" in days  # 23:30+02:00 on the 5th is 21:30 UTC on the 5th

    read = duck(
        f"SELECT * FROM read_parquet('{tmp_path}/out/logs/**/*.parquet', hive_partitioning=true)"
    )
    assert len(read) == 30
    by_id = {r["id"]: r for r in read}
    for row in rows:
        got = by_id[row[2]]
        assert got["provider"] == PROVIDER and got["store"] == STORE
        assert got["created_at"] == utc(row[5])
        assert (got["succeeded"], got["status_code"], got["error"]) == (row[6], row[7], row[10])
        assert got["raw"] == row[12].decode()  # the server's JSON text, byte for byte
        assert str(got["day"]) == ("unknown" if row[5] is None else str(utc(row[5]).date()))  # type: ignore[union-attr]

    table = ds.dataset(tmp_path / "out/logs", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 30
    assert set(table.column("provider").to_pylist()) == {PROVIDER}
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert sorted(table.column("id").to_pylist()) == sorted(r[2] for r in rows)

    for path in (tmp_path / "out/logs").rglob("*.parquet"):
        chunks = pq.ParquetFile(path).metadata.row_group(0)
        has_stats = {
            chunks.column(i).path_in_schema: chunks.column(i).is_stats_set
            for i in range(chunks.num_columns)
        }
        assert has_stats["created_at"] and has_stats["id"]  # for readers' filters
        assert not has_stats["raw"]  # whole JSON documents: no reader filters by their range

    manifest = json.loads((tmp_path / "out/_manifest.json").read_bytes())
    assert sum(f["rows"] for f in manifest["files"]) == 30
    assert {(f["provider"], f["store"]) for f in manifest["files"]} == {(PROVIDER, STORE)}
    again = sink_at(tmp_path / "out")
    assert await again.open(KEY) == b'{"cursor": "c1"}'
    await again.close()


async def test_ids_read_the_stores_own_files(tmp_path: Path) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    await sink.write(log_rows(0, 40), b"{}")
    await sink.write(log_rows(40, 5) + log_rows(100, 3, store="another"), b"{}")
    found = [i async for batch in sink.ids() for i in batch]
    await sink.close()
    assert sorted(found) == sorted(f"log-{i}" for i in range(45))


async def test_integrations_replace_a_stores_file_and_join_to_failures(tmp_path: Path) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    await sink.write(log_rows(0, 12), b"{}")
    await sink.write_integrations(
        [
            (PROVIDER, STORE, "int-1", "Old", "woocommerce", "active", b'{"id": 1}'),
            (PROVIDER, STORE, "int-3", "Shop C", "shopify", "active", b'{"id": 3}'),
        ]
    )
    await sink.write_integrations(
        [(PROVIDER, STORE, "int-1", "Woo", "woocommerce", "paused", b'{"id": 1, "v": 2}')]
    )
    await sink.close()
    path = (
        tmp_path
        / "integrations/provider=sendcloud%2Fv3/sendcloud%3Apanel.sendcloud.sc%3Apk_123.parquet"
    )
    stored = pq.read_table(path, partitioning=None).sort_by("id").to_pylist()
    assert [(r["id"], r["name"], r["status"], r["raw"]) for r in stored] == [
        ("int-1", "Woo", "paused", '{"id": 1, "v": 2}'),
        ("int-3", "Shop C", "active", '{"id": 3}'),
    ]
    failures = duck(
        f"SELECT i.name, count(*) AS failures "
        f"FROM read_parquet('{tmp_path}/logs/**/*.parquet', hive_partitioning=true) l "
        f"JOIN read_parquet('{tmp_path}/integrations/**/*.parquet', hive_partitioning=true) i "
        "ON i.provider = l.provider AND i.store = l.store AND i.id = l.integration_id "
        "WHERE NOT l.succeeded GROUP BY i.name ORDER BY failures DESC, i.name"
    )
    assert failures == [{"name": "Shop C", "failures": 2}, {"name": "Woo", "failures": 2}]


async def test_empty_batches_commit_the_state_without_files(tmp_path: Path) -> None:
    sink = sink_at(tmp_path)
    await sink.open(KEY)
    assert await sink.write([], b'{"n": 2}') == 0
    await sink.close()
    assert not (tmp_path / "logs").exists()
    again = sink_at(tmp_path)
    assert await again.open(KEY) == b'{"n": 2}'
    await again.close()


def test_a_batch_splits_by_day_keeping_each_days_rows_in_order() -> None:
    rows = log_rows(0, 60)  # hours apart: days interleave with the NULL-dated rows
    parts = list(_partitions(log_table(rows)))
    assert [day for _, _, day, _ in parts] == sorted({day for _, _, day, _ in parts})
    for provider, store, day, part in parts:
        assert (provider, store) == (PROVIDER, STORE) and "provider" not in part.column_names
        expected = [
            r[2]
            for r in rows
            if (str(utc(r[5]).date()) if r[5] is not None else "unknown") == day  # type: ignore[union-attr]
        ]
        assert part.column("id").to_pylist() == expected  # every row, in the batch's order
    assert sum(part.num_rows for *_, part in parts) == 60
