"""PostgreSQL sink failures against a real server: typed errors, no secrets, nothing
half-written, the store's writer lock."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import traceback
from typing import Any

import pytest

from integration_logs_async.sinks import (
    SinkAuthError,
    SinkError,
    SinkLockedError,
    SinkReadOnlyError,
    SinkUnavailableError,
    StoreKey,
)

from .._support.postgres import PASSWORD, PostgresServer
from ._postgres_helpers import KEY, admin, make_rows, opened, sink_for, wait_for_backend


def assert_no_secret(exc: BaseException) -> None:
    """Neither the message, the repr nor the whole chained traceback has a password."""
    text = "".join(traceback.format_exception(exc))
    for secret in (PASSWORD, "Wrong-Password-9c1e"):
        assert secret not in str(exc)
        assert secret not in repr(exc)
        assert secret not in text


async def _counts(dsn: str) -> tuple[int, int]:
    async with admin(dsn) as conn:
        rows = await conn.fetchval("SELECT count(*) FROM integration_logs")
        states = await conn.fetchval("SELECT count(*) FROM integration_logs_state")
        return int(rows), int(states)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_unreachable_server(postgres: PostgresServer) -> None:
    dsn = postgres.dsn().replace(f":{postgres.port}/", f":{_closed_port()}/")
    sink = sink_for(dsn)
    with pytest.raises(SinkUnavailableError) as caught:
        await sink.open(KEY)
    assert sink.target.shown in str(caught.value)
    assert "check the host and port" in str(caught.value)
    assert_no_secret(caught.value)
    await sink.close()


async def test_wrong_password(postgres: PostgresServer) -> None:
    sink = sink_for(postgres.wrong_password_dsn())
    with pytest.raises(SinkAuthError, match="password") as caught:
        await sink.open(KEY)
    assert_no_secret(caught.value)
    await sink.close()


async def test_unknown_role(postgres: PostgresServer) -> None:
    sink = sink_for(postgres.dsn(user="nobody_here"))
    with pytest.raises(SinkAuthError) as caught:
        await sink.open(KEY)
    assert_no_secret(caught.value)


async def test_unknown_database(postgres: PostgresServer) -> None:
    sink = sink_for(postgres.dsn("no_such_db"))
    with pytest.raises(SinkUnavailableError, match="createdb no_such_db") as caught:
        await sink.open(KEY)
    assert_no_secret(caught.value)


async def test_read_only_role_cannot_create_tables(postgres: PostgresServer) -> None:
    database = postgres.create_database()
    dsn = postgres.create_role(database, read_only=True)
    sink = sink_for(dsn)
    with pytest.raises(SinkReadOnlyError, match="read-only") as caught:
        await sink.open(KEY)
    assert_no_secret(caught.value)
    await sink.close()


async def test_read_only_role_is_refused_on_existing_tables(postgres: PostgresServer) -> None:
    database = postgres.create_database()
    owner = postgres.dsn(database)
    async with opened(owner):
        pass
    dsn = postgres.create_role(
        database,
        read_only=True,
        grants="GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}",
    )
    sink = sink_for(dsn)  # refused at open (transaction_read_only), before anything is read
    with pytest.raises(SinkReadOnlyError, match="read-only") as caught:
        await sink.open(KEY)
    await sink.close()
    assert_no_secret(caught.value)
    assert await _counts(owner) == (0, 0)


async def test_role_without_insert_privilege(postgres: PostgresServer) -> None:
    database = postgres.create_database()
    owner = postgres.dsn(database)
    async with opened(owner):
        pass
    dsn = postgres.create_role(
        database, grants="GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
    )
    async with opened(dsn) as sink:
        with pytest.raises(SinkReadOnlyError, match="grant it") as caught:
            await sink.write(make_rows(3), b"{}")
    assert_no_secret(caught.value)
    assert await _counts(owner) == (0, 0)


async def test_a_bad_row_fails_the_whole_batch(pg_dsn: str) -> None:
    async with opened(pg_dsn) as sink:
        await sink.write(make_rows(2), b'{"n": 1}')
        rows = make_rows(100, start=2)
        bad = (*rows[-1][:-1], b"{not json")
        with pytest.raises(SinkError, match="rejected a row") as caught:
            await sink.write([*rows[:-1], bad], b'{"n": 2}')
        assert_no_secret(caught.value)
        assert await _counts(pg_dsn) == (2, 1)
        assert await sink.write(rows, b'{"n": 3}') == 100  # the sink is still usable
    async with admin(pg_dsn) as conn:
        assert await conn.fetchval("SELECT state->>'n' FROM integration_logs_state") == "3"


async def _blocked_write(pg_dsn: str, conn: Any, sink: Any) -> asyncio.Task[int]:
    """A large write that waits on a lock held by ``conn``'s transaction after its rows are
    copied and inserted (the state upsert waits)."""
    await conn.execute("BEGIN; LOCK TABLE integration_logs_state IN SHARE MODE")
    task = asyncio.create_task(sink.write(make_rows(20_000, start=10), b'{"n": 2}'))
    await wait_for_backend(conn, "wait_event_type = 'Lock'")
    return task


async def test_connection_killed_mid_write_commits_nothing(pg_dsn: str) -> None:
    async with opened(pg_dsn) as sink, admin(pg_dsn) as conn:
        await sink.write(make_rows(10), b'{"n": 1}')
        task = await _blocked_write(pg_dsn, conn, sink)
        pid = await wait_for_backend(conn, "wait_event_type = 'Lock'")
        await conn.execute("SELECT pg_terminate_backend($1)", pid)
        await conn.execute("ROLLBACK")
        with pytest.raises(SinkUnavailableError, match="nothing of the unfinished batch") as caught:
            await task
        assert_no_secret(caught.value)
    assert await _counts(pg_dsn) == (10, 1)
    again = sink_for(pg_dsn)  # a rerun continues from the last committed state
    try:
        assert await again.open(KEY) == b'{"n": 1}'
    finally:
        await again.close()


async def test_cancelled_write_commits_nothing(pg_dsn: str) -> None:
    sink = sink_for(pg_dsn)
    await sink.open(KEY)
    async with admin(pg_dsn) as conn:
        await sink.write(make_rows(10), b'{"n": 1}')
        task = await _blocked_write(pg_dsn, conn, sink)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await sink.close()
        await sink.close()  # idempotent
        await conn.execute("ROLLBACK")
    assert await _counts(pg_dsn) == (10, 1)
    async with opened(pg_dsn) as again:  # the lock went with the connection
        assert await again.write(make_rows(5, start=8), b'{"n": 3}') == 3


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 5, 8, 13])
async def test_cancelled_anywhere_leaves_rows_and_state_together(pg_dsn: str, steps: int) -> None:
    sink = sink_for(pg_dsn)
    await sink.open(KEY)
    task = asyncio.create_task(sink.write(make_rows(5_000), b'{"n": 1}'))
    for _ in range(steps):
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await sink.close()
    rows, states = await _counts(pg_dsn)
    assert (rows, states) in ((0, 0), (5_000, 1))


async def test_second_writer_of_a_store_is_refused_at_once(pg_dsn: str) -> None:
    async with opened(pg_dsn):
        second = sink_for(pg_dsn)
        with pytest.raises(SinkLockedError) as caught:
            await second.open(KEY)
        message = str(caught.value)
        assert "shop-a" in message and "another harvest" in message and "pg_locks" in message
        assert_no_secret(caught.value)
        await second.close()
        other_store = StoreKey(KEY.provider, "shop-b", KEY.harvest)
        async with opened(pg_dsn, other_store):
            pass
        other_table = sink_for(pg_dsn, "other_logs")
        await other_table.open(KEY)
        await other_table.close()
        async with admin(pg_dsn) as conn:  # the message's query finds the holder
            query = message.split("find it with: ", 1)[1].removesuffix(")")
            assert len(await conn.fetch(query)) == 1
    async with opened(pg_dsn):  # released on close
        pass


async def test_the_locked_message_query_finds_the_holder_in_this_database_only(
    postgres: PostgresServer,
) -> None:
    """Advisory locks are per database, pg_locks is the cluster's: the same store harvested
    into two databases has two holders, and the message's query names the one of its own."""
    first, second = (postgres.dsn(postgres.create_database()) for _ in range(2))
    async with opened(first), opened(second):
        with pytest.raises(SinkLockedError) as caught:
            await sink_for(first).open(KEY)
        query = str(caught.value).split("find it with: ", 1)[1].removesuffix(")")
        async with admin(first) as conn:
            (holder,) = await conn.fetch(query)
            mine = await conn.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'integration-logs harvest'"
            )
        assert holder["pid"] == mine


async def test_lock_released_when_the_connection_dies(pg_dsn: str) -> None:
    first = sink_for(pg_dsn)
    await first.open(KEY)
    async with admin(pg_dsn) as conn:
        pid = await wait_for_backend(conn, "state = 'idle'")
        await conn.execute("SELECT pg_terminate_backend($1, 10000)", pid)
    async with opened(pg_dsn):
        pass
    await first.close()


_HOLDER = """
import asyncio, os, sys
from integration_logs_async.sinks import StoreKey, open_sink
async def main():
    sink = open_sink(os.environ["SINK_DSN"])
    await sink.open(StoreKey("sendcloud", "shop-a", "logs:all"))
    print("open", flush=True)
    await asyncio.sleep(600)
asyncio.run(main())
"""


async def test_lock_released_when_the_process_is_killed(pg_dsn: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        env={**os.environ, "SINK_DSN": pg_dsn},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert await holder.stdout.readline() == b"open\n"
        with pytest.raises(SinkLockedError):
            await sink_for(pg_dsn).open(KEY)
    finally:
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    async with asyncio.timeout(30):  # the server notices the closed socket
        while True:
            sink = sink_for(pg_dsn)
            try:
                await sink.open(KEY)
                break
            except SinkLockedError:
                await asyncio.sleep(0.05)
            finally:
                await sink.close()
