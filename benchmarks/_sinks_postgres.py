"""A throwaway PostgreSQL cluster for the sink benchmark, with a durable configuration.

It reuses the tests' helper (:class:`tests._support.postgres.PostgresServer`: ``initdb`` and
``pg_ctl`` as the ``postgres`` system user when run as root, 127.0.0.1 on a free port,
password authentication, stopped and deleted at the end and at interpreter exit), started
on the server's CPU (the one the emulator is pinned to), then switches the durability
settings the tests turn off back to PostgreSQL's defaults: ``fsync``, ``synchronous_commit``
and ``full_page_writes`` on (``ALTER SYSTEM`` + reload), so every committed batch is on disk
as it would be on a user's server. ``shared_buffers`` stays the helper's 64 MB.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._common import SERVER_CORES, pinned

__all__ = ["DURABLE", "available", "postgres_server", "query"]

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def available() -> bool:
    """Whether PostgreSQL server binaries and the asyncpg driver are installed."""
    try:
        from tests._support.postgres import find_binaries
    except ImportError:  # asyncpg or pytest missing
        return False
    return find_binaries() is not None


def query(server: Any, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
    """Run ``sql`` as the superuser; its rows as tuples."""
    import asyncpg  # type: ignore[import-untyped]

    from tests._support.postgres import _run_async

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(server.dsn(database))
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    result: list[tuple[Any, ...]] = _run_async(run())
    return result


@contextmanager
def postgres_server(settings: dict[str, str] | None = None) -> Iterator[Any]:
    """A started :class:`~tests._support.postgres.PostgresServer` with durable settings
    (and ``settings``, e.g. a higher ``max_connections`` for a fleet)."""
    from tests._support.postgres import PostgresServer, find_binaries

    binaries = find_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL server binaries not found")
    server = PostgresServer(binaries, settings)
    with pinned(SERVER_CORES):  # pg_ctl's postmaster and its backends inherit the affinity
        server.start()
    try:
        for name, value in DURABLE.items():
            server.execute(f"ALTER SYSTEM SET {name} = {value}")
        query(server, "SELECT pg_reload_conf()")
        shown = {name: query(server, f"SHOW {name}")[0][0] for name in DURABLE}
        if shown != DURABLE:
            raise RuntimeError(f"PostgreSQL settings not applied: {shown}")
        yield server
    finally:
        server.stop()
