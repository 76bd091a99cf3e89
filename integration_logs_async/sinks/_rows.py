"""Harvested records as table rows: normalized columns plus the raw JSON (pure).

A row is a plain tuple in :data:`~._schema.LOG_COLUMNS` order, the shape drivers copy
fastest (asyncpg's ``copy_records_to_table``, Arrow columns).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from ..fanout import Source
from ..providers import IntegrationSummary, Normalizer
from ..records import RawRecord

LogRow: TypeAlias = tuple[
    str,  # provider
    str,  # store
    str,  # id
    str | None,  # integration_id
    str | None,  # job_id
    datetime | None,  # created_at
    bool | None,  # succeeded
    int | None,  # status_code
    str | None,  # method
    str | None,  # url
    str | None,  # error
    int | None,  # attempt
    bytes,  # raw: the server's JSON, byte for byte
]
"""One log, in the log table's column order."""

IntegrationRow: TypeAlias = tuple[str, str, str, str | None, str | None, str | None, bytes]
"""One integration: provider, store, id, name, type, status, raw JSON."""


def log_row(
    record: RawRecord, source: Source, normalizer: Normalizer, provider: str, store: str
) -> LogRow:
    """``record`` as a row; its integration and job filled in from ``source`` if missing."""
    log = normalizer(record)
    return (
        provider,
        store,
        log.id,
        log.integration_id or source.integration_id,
        log.job_id or source.job_id,
        log.created_at,
        log.succeeded,
        log.status_code,
        log.method,
        log.url,
        log.error,
        log.attempt,
        record.raw,
    )


def integration_row(
    summary: IntegrationSummary, raw: bytes, provider: str, store: str
) -> IntegrationRow:
    """An integration's summary (id, name, type, status) and raw JSON as a row."""
    return (provider, store, str(summary.id), summary.name, summary.type, summary.status, raw)


__all__ = ["IntegrationRow", "LogRow", "integration_row", "log_row"]
