"""Rows, sinks and an admin connection for the PostgreSQL sink tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs or py.typed

from integration_logs_async.sinks import LogRow, StoreKey, parse_sink_url
from integration_logs_async.sinks._postgres import PostgresSink

__all__ = ["KEY", "admin", "make_rows", "opened", "sink_for", "wait_for_backend"]

KEY = StoreKey("sendcloud", "shop-a", "logs:all")
_T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_rows(count: int, *, store: str = "shop-a", start: int = 0) -> list[LogRow]:
    """``count`` log rows of ``store`` with ids ``start``..; varied values and NULLs."""
    rows: list[LogRow] = []
    for i in range(start, start + count):
        failed = i % 3 == 0
        raw = json.dumps(
            {"id": i, "status": 500 if failed else 200, "body": f"réponse {i}", "n": [1, 2]},
            separators=(", ", ": "),
        ).encode()
        rows.append(
            (
                "sendcloud",
                store,
                str(i),
                str(i % 4) if i % 5 else None,
                f"job-{i}" if i % 2 else None,
                _T0 + timedelta(seconds=i, microseconds=123),
                not failed,
                500 if failed else 200,
                "POST",
                f"https://shop.example/orders/{i}",
                "Internal error" if failed else None,
                i % 3 if i % 7 else None,
                raw,
            )
        )
    return rows


def sink_for(dsn: str, table: str | None = None) -> PostgresSink:
    """A (not yet opened) sink for ``dsn``, writing ``table``."""
    return PostgresSink(parse_sink_url(dsn + (f"?table={table}" if table else "")))


@asynccontextmanager
async def opened(dsn: str, key: StoreKey = KEY, table: str | None = None) -> AsyncIterator[Any]:
    """An opened sink, closed afterwards."""
    sink = sink_for(dsn, table)
    await sink.open(key)
    try:
        yield sink
    finally:
        await sink.close()


@asynccontextmanager
async def admin(dsn: str) -> AsyncIterator[Any]:
    """A superuser connection to the test database."""
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def wait_for_backend(conn: Any, condition: str) -> int:
    """The pid of the harvest's backend once ``condition`` (SQL on pg_stat_activity) holds."""
    query = (
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'integration-logs harvest' "
        f"AND {condition}"
    )
    async with asyncio.timeout(30):
        while True:
            pid = await conn.fetchval(query)
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.02)
