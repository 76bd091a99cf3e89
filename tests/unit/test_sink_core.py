"""The sinks' pure parts: URLs, the tables as data, rows, store names, the registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from integration_logs_async import BasicAuth, BearerToken, ClientCredentials, RawRecord
from integration_logs_async.fanout import Source
from integration_logs_async.providers import spec
from integration_logs_async.sinks import (
    LOG_COLUMNS,
    SinkDependencyError,
    TableNames,
    default_store,
    log_row,
    open_sink,
    parse_sink_url,
)
from integration_logs_async.sinks._schema import ColumnType, missing_columns

# --- URLs ---------------------------------------------------------------------------------------


def test_a_postgres_url_keeps_its_password_for_the_driver_only() -> None:
    url = parse_sink_url("postgresql://me:s3cret@db.example:5433/logs?sslmode=require&table=t1")
    assert url.kind == "postgresql" and url.table == "t1"
    assert "s3cret" in url.dsn and "table=" not in url.dsn and "sslmode=require" in url.dsn
    assert "s3cret" not in url.shown and "s3cret" not in repr(url)
    assert url.shown == "postgresql://me@db.example:5433/logs?sslmode=require"
    assert parse_sink_url("postgres://localhost/db").kind == "postgresql"


@pytest.mark.parametrize(
    ("text", "kind", "path"),
    [
        ("duckdb:///var/data/logs.duckdb", "duckdb", "/var/data/logs.duckdb"),
        ("duckdb:logs.duckdb", "duckdb", "logs.duckdb"),
        ("duckdb://./logs.duckdb", "duckdb", "./logs.duckdb"),
        ("parquet:///srv/lake?table=x", "parquet", "/srv/lake"),
        ("jsonl:///tmp/out.jsonl", "jsonl", "/tmp/out.jsonl"),
    ],
)
def test_file_urls(text: str, kind: str, path: str) -> None:
    url = parse_sink_url(text)
    assert (url.kind, url.path) == (kind, path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("logs.duckdb", "not a sink URL"),
        ("mysql://host/db", "scheme 'mysql' is not supported"),
        ("duckdb://host/file.duckdb", "has a host"),
        ("parquet:", "names no path"),
        ("duckdb:///x.duckdb?table=1bad", "table name '1bad'"),
        ("duckdb:///x.duckdb?table=a;drop", "letters, digits and underscores"),
    ],
)
def test_bad_urls_say_which_forms_are_accepted(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sink_url(text)


def test_jsonl_is_the_file_harvest_not_a_sink() -> None:
    with pytest.raises(ValueError, match="--out"):
        open_sink("jsonl:///tmp/x.jsonl")


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def refuse(name: str, package: str | None = None) -> object:
        if name == "._postgres":
            raise ModuleNotFoundError("No module named 'asyncpg'", name="asyncpg")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", refuse)
    with pytest.raises(SinkDependencyError, match=r"needs asyncpg: pip install .*\[postgres\]"):
        open_sink("postgresql://localhost/db")


# --- tables and rows ----------------------------------------------------------------------------


def test_table_names_follow_the_log_table() -> None:
    names = TableNames("logs")
    assert (names.integrations, names.state, names.meta) == (
        "logs_integrations",
        "logs_state",
        "logs_meta",
    )


def test_missing_columns_names_each_difference() -> None:
    same: dict[ColumnType, set[str]] = {
        "text": {"text"},
        "timestamptz": {"timestamptz"},
        "boolean": {"boolean"},
        "integer": {"integer"},
        "json": {"json"},
    }
    found = {c.name: c.type for c in LOG_COLUMNS if c.name not in ("raw", "attempt")}
    found["status_code"] = "text"
    assert missing_columns(LOG_COLUMNS, found, same) == [
        "status_code is text, not integer",
        "no column attempt",
        "no column raw",
    ]


def test_a_log_row_has_the_columns_in_order_and_the_raw_bytes() -> None:
    raw = (
        b'{"id": 7, "integration_id": 3, "base_url": "https://shop.example", '
        b'"method": "POST", "response_code": 503, "created_at": "2026-12-07T10:00:00Z", '
        b'"exception": "down"}'
    )
    record = RawRecord(
        raw=raw, id="7", created_at=datetime(2026, 12, 7, 10, tzinfo=UTC), integration_id="3"
    )
    row = log_row(record, Source("all"), spec("sendcloud").normalize, "sendcloud", "s1")
    assert len(row) == len(LOG_COLUMNS)
    named = dict(zip((c.name for c in LOG_COLUMNS), row, strict=True))
    assert named["provider"] == "sendcloud" and named["store"] == "s1" and named["id"] == "7"
    assert named["integration_id"] == "3" and named["status_code"] == 503
    assert named["method"] == "POST" and named["error"] == "down" and named["raw"] is raw


def test_the_source_fills_in_the_owner_a_record_lacks() -> None:
    raw = b'{"id": 8, "base_url": "https://x", "created_at": "2026-12-07T10:00:00Z"}'
    record = RawRecord(raw=raw, id="8", created_at=datetime(2026, 12, 7, 10, tzinfo=UTC))
    source = Source("integration 5", integration_id="5")
    row = log_row(record, source, spec("sendcloud").normalize, "sendcloud", "s1")
    assert row[3] == "5"


def test_the_default_store_names_no_secret() -> None:
    base = "https://panel.sendcloud.sc/api/v2"
    assert (
        default_store("sendcloud", base, BasicAuth("pk", "sk")) == "sendcloud:panel.sendcloud.sc:pk"
    )
    store = default_store("elasticpath", "https://x.example", ClientCredentials("cid", "csecret"))
    assert store == "elasticpath:x.example:cid"
    assert default_store("elasticpath", "https://x.example", BearerToken("tok")).endswith(":bearer")


def test_file_sinks_keep_their_other_query_parameters() -> None:
    url = parse_sink_url("duckdb:///data/x.duckdb?memory_limit=1GB&table=t")
    assert url.table == "t" and url.option("memory_limit", "256MB") == "1GB"
    assert parse_sink_url("duckdb:///data/x.duckdb").option("memory_limit", "256MB") == "256MB"


async def test_duckdb_refuses_a_memory_limit_that_is_not_a_size(tmp_path: Path) -> None:
    from integration_logs_async.sinks import StoreKey

    sink = open_sink(f"duckdb://{tmp_path}/x.duckdb?memory_limit=lots")
    try:
        with pytest.raises(ValueError, match=r"memory_limit='lots' .* is not a size"):
            await sink.open(StoreKey("sendcloud", "s", "h"))
    finally:
        await sink.close()
    sink = open_sink(f"duckdb://{tmp_path}/x.duckdb?memory_limit=64MB")
    try:
        assert await sink.open(StoreKey("sendcloud", "s", "h")) is None
    finally:
        await sink.close()
