"""asyncpg's and the network's exceptions as typed sink errors that say what to do (pure).

Messages name the URL as shown (never its password), the table, and the SQLSTATE; a
server's message is included only after the password is scrubbed from it.
"""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]  # no stubs or py.typed
from yarl import URL

from ._errors import (
    SinkAuthError,
    SinkError,
    SinkFullError,
    SinkReadOnlyError,
    SinkUnavailableError,
)
from ._url import SinkURL

_LOST = (
    "the connection to {shown} was lost ({detail}); nothing of the unfinished batch was "
    "committed: check that the server runs and is reachable, then rerun (it continues from "
    "the last committed batch)"
)


def _database(url: SinkURL) -> str:
    try:
        return URL(url.dsn).path.lstrip("/") or "(the user's default)"
    except ValueError:
        return "(unknown)"


def _scrub(text: str, url: SinkURL) -> str:
    """``text`` without the URL's password (nor the whole DSN)."""
    try:
        password = URL(url.dsn).password
    except ValueError:
        password = None
    text = text.replace(url.dsn, url.shown)
    if password:
        text = text.replace(password, "***")
    return text


def _detail(exc: BaseException, url: SinkURL) -> str:
    if isinstance(exc, asyncpg.PostgresError):
        message = getattr(exc, "message", None) or str(exc)
        return _scrub(f"SQLSTATE {exc.sqlstate}: {message}", url)
    text = str(exc)
    return _scrub(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, url)


def sink_error_for(
    exc: BaseException, url: SinkURL, table: str, *, connecting: bool = False
) -> SinkError:
    """The :class:`~._errors.SinkError` for ``exc`` raised while using ``url``'s ``table``
    (``connecting``: while opening the connection, where a network error means the server
    cannot be reached rather than a lost connection)."""
    shown, detail = url.shown, _detail(exc, url)
    state = getattr(exc, "sqlstate", None) if isinstance(exc, asyncpg.PostgresError) else None
    if state in ("28P01", "28000"):
        return SinkAuthError(
            f"{shown} refused the credentials ({detail}): check the user name and password "
            "in the URL (or PGPASSWORD / ~/.pgpass) and that the role may log in"
        )
    if state == "3D000":
        name = _database(url)
        return SinkUnavailableError(
            f"database {name!r} does not exist on {shown}: create it (createdb {name}) "
            "or point --to at an existing database"
        )
    if state == "25006":
        return SinkReadOnlyError(
            f"{shown} is read-only for this role ({detail}): table {table} cannot be "
            "written; use a writable database or role (default_transaction_read_only off, "
            "not a standby)"
        )
    if state == "42501":
        return SinkReadOnlyError(
            f"the role of {shown} may not write table {table} ({detail}): grant it "
            f"CREATE on the schema and INSERT, UPDATE, SELECT on {table}, {table}_state, "
            f"{table}_integrations and {table}_meta, or use another role"
        )
    if state == "53100":
        return SinkFullError(
            f"the disk of {shown} is full ({detail}): nothing of the batch was committed; "
            "free space on the database server, then rerun (it continues where it stopped)"
        )
    if state is not None and state.startswith("53"):
        return SinkUnavailableError(
            f"{shown} is out of resources ({detail}): nothing of the batch was committed; "
            "retry when the server has capacity (connections, memory)"
        )
    if state is not None and (state.startswith("08") or state.startswith("57P")):
        return SinkUnavailableError(_LOST.format(shown=shown, detail=detail))
    if isinstance(exc, TimeoutError | OSError) and connecting:
        return SinkUnavailableError(
            f"cannot connect to {shown} ({detail}): check the host and port, that the "
            "server runs and accepts TCP connections from here (listen_addresses, pg_hba.conf)"
        )
    if isinstance(exc, asyncpg.InterfaceError | OSError | TimeoutError):
        return SinkUnavailableError(_LOST.format(shown=shown, detail=detail))
    if state is not None and state.startswith("22"):
        return SinkError(
            f"{shown} rejected a row of table {table} ({detail}): nothing of the batch "
            "was committed; please report this with the record's id"
        )
    return SinkError(f"writing table {table} at {shown} failed ({detail})")


__all__ = ["sink_error_for"]
