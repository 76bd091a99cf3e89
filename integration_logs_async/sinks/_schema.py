"""The tables every database sink writes, as data: columns, keys, names, version (pure).

One log table (name settable, default ``integration_logs``) with the normalized columns
and the record's raw JSON, primary key ``(provider, store, id)``; beside it, named after it:
``<table>_integrations`` (so failures join to shop names), ``<table>_state`` (each store's
harvest state, committed with the records it covers) and ``<table>_meta`` (the schema
version, for migrations).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

SCHEMA_VERSION = 1
"""Bump with a migration (each sink's ``_migrate``) when a table changes shape."""

ColumnType = Literal["text", "timestamptz", "boolean", "integer", "json"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: name, portable type, and whether it may be NULL."""

    name: str
    type: ColumnType
    nullable: bool = True


LOG_COLUMNS: tuple[Column, ...] = (
    Column("provider", "text", nullable=False),
    Column("store", "text", nullable=False),
    Column("id", "text", nullable=False),
    Column("integration_id", "text"),
    Column("job_id", "text"),
    Column("created_at", "timestamptz"),
    Column("succeeded", "boolean"),
    Column("status_code", "integer"),
    Column("method", "text"),
    Column("url", "text"),
    Column("error", "text"),
    Column("attempt", "integer"),
    Column("raw", "json", nullable=False),
)
"""The log table's columns, in the order of a :data:`~._rows.LogRow`."""

INTEGRATION_COLUMNS: tuple[Column, ...] = (
    Column("provider", "text", nullable=False),
    Column("store", "text", nullable=False),
    Column("id", "text", nullable=False),
    Column("name", "text"),
    Column("type", "text"),
    Column("status", "text"),
    Column("raw", "json", nullable=False),
)
"""The integrations table's columns, in the order of an :data:`~._rows.IntegrationRow`."""

STATE_COLUMNS: tuple[Column, ...] = (
    Column("provider", "text", nullable=False),
    Column("store", "text", nullable=False),
    Column("harvest", "text", nullable=False),
    Column("state", "json", nullable=False),
    Column("updated_at", "timestamptz", nullable=False),
)
"""The state table: one row per (provider, store, harvest definition)."""

KEY = ("provider", "store", "id")
STATE_KEY = ("provider", "store", "harvest")


@dataclass(frozen=True, slots=True)
class TableNames:
    """The four tables of one sink, named after the log table."""

    logs: str

    @property
    def integrations(self) -> str:
        """Integrations, to join failures to shop names."""
        return f"{self.logs}_integrations"

    @property
    def state(self) -> str:
        """Harvest states."""
        return f"{self.logs}_state"

    @property
    def meta(self) -> str:
        """Schema version (``key = 'schema_version'``)."""
        return f"{self.logs}_meta"


def missing_columns(
    expected: tuple[Column, ...],
    found: Mapping[str, str],
    same_type: Mapping[ColumnType, AbstractSet[str]],
) -> list[str]:
    """What an existing table lacks or has differently: ``found`` maps its column names to
    the database's type names (lower case), ``same_type`` the accepted names per type."""
    problems = []
    for column in expected:
        actual = found.get(column.name)
        if actual is None:
            problems.append(f"no column {column.name}")
        elif actual.lower() not in same_type[column.type]:
            problems.append(f"{column.name} is {actual}, not {column.type}")
    return problems


__all__ = [
    "INTEGRATION_COLUMNS",
    "KEY",
    "LOG_COLUMNS",
    "SCHEMA_VERSION",
    "STATE_COLUMNS",
    "STATE_KEY",
    "Column",
    "ColumnType",
    "TableNames",
    "missing_columns",
]
