"""Rows as Arrow tables (the DuckDB and Parquet sinks): the raw JSON's text and its check."""

from __future__ import annotations

import pytest

from integration_logs_async.sinks._arrow import log_table

from ._filesinks import log_rows


def test_raw_bytes_become_the_same_text() -> None:
    rows = log_rows(0, 4)
    rows[1] = (*rows[1][:-1], '{"note": "caf\u00e9 \u2603 \\u00e9"}'.encode())
    table = log_table(rows)
    assert table.column("raw").to_pylist() == [row[-1].decode() for row in rows]
    assert str(table.schema.field("raw").type) == "string"


def test_raw_that_is_not_utf8_is_refused_naming_the_column() -> None:
    rows = log_rows(0, 3)
    rows[2] = (*rows[2][:-1], b'{"a": "\xff\xfe"}')
    with pytest.raises(ValueError, match=r"column raw \(string\)"):
        log_table(rows)
