"""Characters PostgreSQL cannot store (NUL, unpaired surrogates): replaced, the rest kept."""

from __future__ import annotations

import json

import pytest

from integration_logs_async.sinks._arrow import LOG_SCHEMA_JSON, log_table, with_storable_raw
from integration_logs_async.sinks._postgres_clean import (
    storable_json,
    storable_rows,
    storable_text,
)

from ._postgres_helpers import admin, make_rows, opened

CASES = [
    (rb'{"a": "x\u0000y"}', rb'{"a": "x\ufffdy"}'),
    (rb'{"a": "\\u0000"}', rb'{"a": "\\u0000"}'),  # an escaped backslash, then text
    (rb'{"a": "\\\u0000"}', rb'{"a": "\\\ufffd"}'),  # a backslash, then a NUL
    (rb'{"a": "\ud83d\ude00"}', rb'{"a": "\ud83d\ude00"}'),  # a pair: kept
    (rb'{"a": "\uD83D"}', rb'{"a": "\ufffd"}'),
    (rb'{"a": "\ude00x"}', rb'{"a": "\ufffdx"}'),
    (rb'{"a": "\ud83d\ud83d\ude00"}', rb'{"a": "\ufffd\ud83d\ude00"}'),
    (rb'{"a": "\u00e9"}', rb'{"a": "\u00e9"}'),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_storable_json(raw: bytes, expected: bytes) -> None:
    assert storable_json(raw) == expected
    json.loads(storable_json(raw))  # still JSON


def test_with_storable_raw_rewrites_only_the_rows_that_change() -> None:
    """The DuckDB sink's pass over an Arrow table: RE2 finds the candidates, and each one is
    cleaned as :func:`storable_json` would (the same cases as above)."""
    rows = make_rows(3)
    harmless = (*rows[0][:12], rb'{"a": "\u00e9"}')  # an escape, but a storable one
    kept = log_table([harmless, *rows[1:]], LOG_SCHEMA_JSON)
    assert with_storable_raw(kept) is kept
    empty = log_table([], LOG_SCHEMA_JSON)  # a state-only write (pyarrow 15 crashed on it)
    assert with_storable_raw(empty) is empty
    cases = [raw for raw, _ in CASES]
    table = log_table([(*rows[0][:12], raw) for raw in cases], LOG_SCHEMA_JSON)
    fixed = with_storable_raw(table)
    assert [raw.encode() for raw in fixed.column("raw").to_pylist()] == [e for _, e in CASES]
    assert fixed.schema == table.schema  # raw still marked as JSON
    assert fixed.drop_columns(["raw"]).equals(table.drop_columns(["raw"]))


def test_storable_text_and_rows() -> None:
    assert storable_text("a\x00b\ud83dc") == "a\ufffdb\ufffdc"
    rows = make_rows(3)
    assert storable_rows(rows) is None
    bad = (*rows[1][:10], "err\x00or", rows[1][11], rb'{"x": "\u0000"}')
    fixed = storable_rows([rows[0], bad, rows[2]])
    assert fixed is not None
    assert fixed[0] is rows[0] and fixed[2] is rows[2]
    assert fixed[1][10] == "err\ufffdor" and fixed[1][12] == rb'{"x": "\ufffd"}'
    assert fixed[1][:10] == bad[:10]


async def test_a_batch_with_nul_and_lone_surrogates_is_stored(pg_dsn: str) -> None:
    rows = make_rows(4)
    rows[2] = (
        *rows[2][:9],
        "https://shop.example/\ud83d",
        "bad\x00byte",
        rows[2][11],
        rb'{"a": "x\u0000y", "b": "\\u0000", "c": "\ud83d\ude00", "d": "\ud83d"}',
    )
    async with opened(pg_dsn) as sink:
        assert await sink.write(rows, b'{"n": 1}') == 4
        await sink.write_integrations(
            [("sendcloud", "shop-a", "1", "Sh\x00op", None, None, rb'{"n": "\u0000"}')]
        )
    async with admin(pg_dsn) as conn:
        got = await conn.fetchrow(
            "SELECT url, error, raw::text FROM integration_logs WHERE id = '2'"
        )
        assert got["url"] == "https://shop.example/\ufffd"
        assert got["error"] == "bad\ufffdbyte"
        assert json.loads(got["raw"]) == {"a": "x\ufffdy", "b": "\\u0000", "c": "😀", "d": "\ufffd"}
        assert await conn.fetchval("SELECT count(*) FROM integration_logs_state") == 1
        name = await conn.fetchval("SELECT name FROM integration_logs_integrations")
        assert name == "Sh\ufffdop"
