"""The PostgreSQL sink's error mapping (pure): each failure's type, what to do, no secrets."""

from __future__ import annotations

import socket

import asyncpg  # type: ignore[import-untyped]  # no stubs or py.typed
import pytest

from integration_logs_async.sinks import (
    SinkAuthError,
    SinkError,
    SinkFullError,
    SinkReadOnlyError,
    SinkUnavailableError,
    parse_sink_url,
)
from integration_logs_async.sinks._postgres_errors import sink_error_for
from integration_logs_async.sinks._postgres_sql import inserted, lock_key

URL = parse_sink_url("postgresql://harvester:S3cret-pw@db.example:5432/logs?table=t")

CASES: list[tuple[BaseException, bool, type[SinkError], str]] = [
    (
        ConnectionRefusedError(111, "Connect call failed"),
        True,
        SinkUnavailableError,
        "check the host",
    ),
    (
        socket.gaierror(-2, "Name or service not known"),
        True,
        SinkUnavailableError,
        "check the host",
    ),
    (TimeoutError(), True, SinkUnavailableError, "that the server runs"),
    (
        asyncpg.InvalidPasswordError("password authentication failed"),
        True,
        SinkAuthError,
        "password",
    ),
    (
        asyncpg.InvalidAuthorizationSpecificationError('role "x" does not exist'),
        True,
        SinkAuthError,
        "user name",
    ),
    (
        asyncpg.InvalidCatalogNameError('database "logs" does not exist'),
        True,
        SinkUnavailableError,
        "createdb logs",
    ),
    (
        asyncpg.CannotConnectNowError("the database system is starting up"),
        True,
        SinkUnavailableError,
        "server runs",
    ),
    (
        asyncpg.TooManyConnectionsError("too many clients"),
        True,
        SinkUnavailableError,
        "out of resources",
    ),
    (
        asyncpg.ReadOnlySQLTransactionError("read-only transaction"),
        False,
        SinkReadOnlyError,
        "writable",
    ),
    (
        asyncpg.InsufficientPrivilegeError("permission denied for table t"),
        False,
        SinkReadOnlyError,
        "grant it",
    ),
    (asyncpg.DiskFullError("could not extend file"), False, SinkFullError, "free space"),
    (
        asyncpg.AdminShutdownError("terminating connection"),
        False,
        SinkUnavailableError,
        "nothing of the unfinished batch",
    ),
    (
        asyncpg.ConnectionDoesNotExistError("connection was closed"),
        False,
        SinkUnavailableError,
        "rerun",
    ),
    (asyncpg.InterfaceError("connection is closed"), False, SinkUnavailableError, "rerun"),
    (
        ConnectionResetError(104, "reset by peer"),
        False,
        SinkUnavailableError,
        "nothing of the unfinished batch",
    ),
    (
        asyncpg.InvalidTextRepresentationError("invalid input syntax for type json"),
        False,
        SinkError,
        "rejected a row",
    ),
    (asyncpg.SyntaxOrAccessError("something else"), False, SinkError, "failed"),
]


@pytest.mark.parametrize(("exc", "connecting", "kind", "advice"), CASES)
def test_error_mapping(
    exc: BaseException, connecting: bool, kind: type[SinkError], advice: str
) -> None:
    error = sink_error_for(exc, URL, "t", connecting=connecting)
    assert type(error) is kind
    assert advice in str(error)
    assert URL.shown in str(error) or "logs" in str(error)
    assert "S3cret-pw" not in str(error) and "S3cret-pw" not in repr(error)


def test_a_password_in_a_driver_message_is_scrubbed() -> None:
    leaky = asyncpg.InterfaceError(f"cannot use {URL.dsn}: S3cret-pw rejected")
    error = sink_error_for(leaky, URL, "t")
    assert "S3cret-pw" not in str(error)
    assert URL.shown in str(error)


def test_insert_status_and_lock_keys() -> None:
    assert inserted("INSERT 0 1234") == 1234
    assert inserted("INSERT 0 0") == 0
    key = lock_key("store", "t", "sendcloud", "shop")
    assert key == lock_key("store", "t", "sendcloud", "shop")
    assert -(2**63) <= key < 2**63
    assert key != lock_key("store", "t", "sendcloud", "shop2")
    assert lock_key("store", "t", "a", "bc") != lock_key("store", "t", "ab", "c")
