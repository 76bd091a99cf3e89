"""Harvest into databases: PostgreSQL, DuckDB and Parquet, with the state committed with the data.

``run_harvest(client, HarvestOptions(..., to="postgresql://user@host/db"))`` or
``integration-logs harvest sendcloud --to duckdb:///logs.duckdb``. Each sink is an optional
extra (``[postgres]``, ``[duckdb]``, ``[parquet]``); :func:`open_sink` says which to install
when one is missing. The tables are described in :mod:`._schema`; the interface in
:class:`Sink`.
"""

from __future__ import annotations

import importlib

from ._errors import (
    SinkAuthError,
    SinkDependencyError,
    SinkError,
    SinkFullError,
    SinkLockedError,
    SinkReadOnlyError,
    SinkSchemaError,
    SinkUnavailableError,
)
from ._rows import IntegrationRow, LogRow, integration_row, log_row
from ._schema import (
    INTEGRATION_COLUMNS,
    LOG_COLUMNS,
    SCHEMA_VERSION,
    STATE_COLUMNS,
    Column,
    TableNames,
)
from ._sink import Sink, StoreKey, default_store
from ._url import DEFAULT_TABLE, SinkKind, SinkURL, parse_sink_url

_IMPLEMENTATIONS: dict[str, tuple[str, str, str]] = {
    # kind: (module, class, extra to install)
    "postgresql": ("._postgres", "PostgresSink", "postgres"),
    "duckdb": ("._duckdb", "DuckDBSink", "duckdb"),
    "parquet": ("._parquet", "ParquetSink", "parquet"),
}


def open_sink(target: SinkURL | str) -> Sink:
    """The sink of ``target`` (not yet opened: call :meth:`Sink.open`). ``jsonl://`` is the
    file harvest, not a sink: ``ValueError``. A missing extra: :class:`SinkDependencyError`."""
    url = parse_sink_url(target) if isinstance(target, str) else target
    if url.kind == "jsonl":
        raise ValueError("jsonl:// is the file harvest: give it as --out (or HarvestOptions.out)")
    module_name, class_name, extra = _IMPLEMENTATIONS[url.kind]
    try:  # imported on use: each driver is an optional extra
        module = importlib.import_module(module_name, __name__)
    except ImportError as exc:
        raise SinkDependencyError(
            f"writing to {url.kind} needs {exc.name or 'its driver'}: pip install "
            f"'integration-logs-async[{extra}]'"
        ) from None
    sink: Sink = getattr(module, class_name)(url)
    return sink


__all__ = [
    "DEFAULT_TABLE",
    "INTEGRATION_COLUMNS",
    "LOG_COLUMNS",
    "SCHEMA_VERSION",
    "STATE_COLUMNS",
    "Column",
    "IntegrationRow",
    "LogRow",
    "Sink",
    "SinkAuthError",
    "SinkDependencyError",
    "SinkError",
    "SinkFullError",
    "SinkKind",
    "SinkLockedError",
    "SinkReadOnlyError",
    "SinkSchemaError",
    "SinkURL",
    "SinkUnavailableError",
    "StoreKey",
    "TableNames",
    "default_store",
    "integration_row",
    "log_row",
    "open_sink",
    "parse_sink_url",
]
