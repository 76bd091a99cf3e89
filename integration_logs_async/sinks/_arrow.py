"""Rows as Arrow tables, column by column with explicit types (the DuckDB and Parquet sinks).

One pass of ``zip(*rows)`` turns the row tuples into columns; each column becomes one Arrow
array of the column's type, so there is no per-row Python beyond building the tuples.
Timestamps are stored in UTC (an aware ``datetime`` of any offset converts to its instant);
the raw JSON stays text, byte for byte (UTF-8, checked by Arrow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from ._postgres_clean import storable_json
from ._rows import IntegrationRow, LogRow
from ._schema import INTEGRATION_COLUMNS, LOG_COLUMNS, Column, ColumnType

_TYPES: dict[ColumnType, pa.DataType] = {
    "text": pa.string(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
    "integer": pa.int32(),
    "json": pa.string(),  # the raw bytes, decoded as UTF-8 (a JSON column in DuckDB)
}


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The Arrow schema of ``columns`` (NOT NULL columns are non-nullable fields)."""
    return pa.schema([pa.field(c.name, _TYPES[c.type], nullable=c.nullable) for c in columns])


LOG_SCHEMA = arrow_schema(LOG_COLUMNS)
"""The log table as Arrow: created_at is ``timestamp[us, tz=UTC]``, raw is a string."""
JSON_EXTENSION = {b"ARROW:extension:name": b"arrow.json", b"ARROW:extension:metadata": b""}
"""Field metadata that marks a string column as JSON (Arrow's canonical ``arrow.json``
extension; DuckDB reads such a column as its JSON type, without parsing it again)."""
LOG_SCHEMA_JSON = pa.schema(
    [f.with_metadata(JSON_EXTENSION) if f.name == "raw" else f for f in LOG_SCHEMA]
)
""":data:`LOG_SCHEMA` with ``raw`` marked as JSON (the DuckDB sink)."""
INTEGRATION_SCHEMA = arrow_schema(INTEGRATION_COLUMNS)
"""The integrations table as Arrow."""


def log_table(rows: Sequence[LogRow], schema: pa.Schema = LOG_SCHEMA) -> pa.Table:
    """``rows`` as an Arrow table of :data:`LOG_SCHEMA` (or ``schema``, the same columns
    with other metadata); ``ValueError`` naming the column when a value does not fit its
    type."""
    return _table(rows, schema)


def integration_table(rows: Sequence[IntegrationRow]) -> pa.Table:
    """``rows`` as an Arrow table of :data:`INTEGRATION_SCHEMA`."""
    return _table(rows, INTEGRATION_SCHEMA)


# Where an escape JSON functions refuse may be (``\u0000``, a surrogate half): RE2 syntax.
_REFUSED_ESCAPE = r"\\u(?:0000|[dD][89a-fA-F])"


def with_storable_raw(table: pa.Table) -> pa.Table:
    """``table`` with the ``\\u0000`` and unpaired surrogate escapes of its ``raw`` JSON
    replaced (:func:`~._postgres_clean.storable_json`), for a target that takes the JSON
    without parsing it. Arrow's RE2 finds the candidate rows in one pass over the column
    (~0.4 µs a 1.6 KB record, where Python's ``in`` on each value took 1.8 µs); only those
    are rewritten."""
    if not table.num_rows:  # pyarrow 15 crashes on a column of no chunks
        return table
    index = table.schema.get_field_index("raw")
    raw = table.column(index)
    hits = pc.indices_nonzero(pc.match_substring_regex(raw, _REFUSED_ESCAPE)).to_pylist()
    if not hits:
        return table
    values = raw.to_pylist()
    for i in hits:
        values[i] = storable_json(values[i].encode()).decode()
    field = table.schema.field(index)
    return table.set_column(index, field, pa.array(values, type=field.type))


def _array(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    """``values`` as an array of ``kind``. Text given as bytes (the raw JSON) is copied as
    binary, then checked as UTF-8 in one vectorized cast: about two thirds of the time of
    building it as a string directly (benchmarks/README.md, "Sinks")."""
    if kind == pa.string() and values and isinstance(values[0], bytes):
        return pa.array(values, type=pa.binary()).cast(pa.string())
    return pa.array(values, type=kind)


def _table(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else []
    if not columns:
        return schema.empty_table()
    if len(columns) != len(schema):
        raise ValueError(f"a row has {len(columns)} values, the table {len(schema)} columns")
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        try:
            arrays.append(_array(values, field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise ValueError(f"column {field.name} ({field.type}): {exc}") from None
        if not field.nullable and arrays[-1].null_count:
            raise ValueError(f"column {field.name} may not be NULL")
    return pa.Table.from_arrays(arrays, schema=schema)


__all__ = [
    "INTEGRATION_SCHEMA",
    "JSON_EXTENSION",
    "LOG_SCHEMA",
    "LOG_SCHEMA_JSON",
    "arrow_schema",
    "integration_table",
    "log_table",
    "with_storable_raw",
]
