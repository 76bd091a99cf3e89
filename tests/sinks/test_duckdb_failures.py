"""The DuckDB sink's failures: lock, missing directory, not a database, read-only, full disk,
another schema, a newer version, and the migration from version 0."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from integration_logs_async.sinks import (
    SinkError,
    SinkFullError,
    SinkLockedError,
    SinkReadOnlyError,
    SinkSchemaError,
    SinkUnavailableError,
    StoreKey,
    _duckdb_sql,
    parse_sink_url,
)
from integration_logs_async.sinks._duckdb import DuckDBSink
from integration_logs_async.sinks._duckdb_sql import map_error

from ._filesinks import (
    PROVIDER,
    STORE,
    error_in_unprivileged_child,
    held_in_another_process,
    log_rows,
)

KEY = StoreKey(PROVIDER, STORE, "logs:all")


def sink_at(path: Path) -> DuckDBSink:
    return DuckDBSink(parse_sink_url(f"duckdb://{path}"))


def query(path: Path, sql: str) -> list[Any]:
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory an unprivileged child can enter (pytest's tmp_path is root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="ila-duckdb-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        for path in (directory, *directory.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(directory)


async def test_a_file_open_in_another_process_is_locked_at_once(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    script = f"import duckdb\ncon = duckdb.connect({str(path)!r})"
    with held_in_another_process(script):
        sink = sink_at(path)
        with pytest.raises(SinkLockedError, match="open in another process") as caught:
            await sink.open(KEY)
        assert str(path) in str(caught.value) and repr(STORE) in str(caught.value)
        await sink.close()
    sink = sink_at(path)
    await sink.open(KEY)  # free again
    await sink.close()


async def test_a_second_sink_in_this_process_is_locked_until_the_first_closes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "logs.duckdb"
    first = sink_at(path)
    await first.open(KEY)
    second = sink_at(path)
    with pytest.raises(SinkLockedError, match="already open for a harvest in this process"):
        await second.open(StoreKey(PROVIDER, "another store", "logs:all"))
    await first.close()
    third = sink_at(path)
    await third.open(KEY)
    await third.close()


async def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    sink = sink_at(tmp_path / "nope" / "logs.duckdb")
    with pytest.raises(SinkUnavailableError, match="nope does not exist"):
        await sink.open(KEY)


async def test_a_file_that_is_not_a_database_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_bytes(b"my notes, not a database\n" * 200)
    sink = sink_at(path)
    with pytest.raises(SinkUnavailableError, match=r"not a DuckDB database file.*move that file"):
        await sink.open(KEY)
    assert path.read_bytes() == b"my notes, not a database\n" * 200


def test_a_read_only_file_or_directory(shared_dir: Path) -> None:
    path = shared_dir / "logs.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    path.chmod(0o444)
    shared_dir.chmod(0o555)
    # as root, chmod stops nobody: the child drops to uid 65534 first
    answer = error_in_unprivileged_child(lambda: sink_at(path).open(KEY))
    assert answer.startswith("SinkReadOnlyError: cannot write"), answer
    fresh = error_in_unprivileged_child(lambda: sink_at(shared_dir / "new.duckdb").open(KEY))
    assert fresh.startswith("SinkReadOnlyError"), fresh


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ('IO Error: Could not set lock on file "/x.duckdb": Conflicting lock', SinkLockedError),
        ('IO Error: Cannot open file "/x.duckdb": Permission denied', SinkReadOnlyError),
        ('IO Error: Cannot open file "/x.duckdb": Read-only file system', SinkReadOnlyError),
        ("IO Error: Could not write file: No space left on device", SinkFullError),
        ("IO Error: Could not write file: File too large", SinkFullError),
        (
            'IO Error: The file "/x" exists, but it is not a valid DuckDB database file!',
            SinkUnavailableError,
        ),
        (
            "Serialization Error: Trying to read a database file with version number 99",
            SinkSchemaError,
        ),
        ("Binder Error: something else", SinkError),
    ],
)
def test_duckdb_errors_are_mapped(message: str, kind: type[SinkError]) -> None:
    error = map_error(
        duckdb.IOException(message + "\nLINE 1: ..."), "duckdb:///x.duckdb", "opening"
    )
    assert type(error) is kind
    assert "duckdb:///x.duckdb" in str(error) and "LINE 1" not in str(error)


def test_a_full_disk_commits_nothing_of_the_batch(tmp_path: Path) -> None:
    """RLIMIT_FSIZE stands in for a full disk: writes past it fail with EFBIG."""
    path = tmp_path / "logs.duckdb"
    script = textwrap.dedent(
        f"""
        import asyncio, resource, signal, sys
        sys.path.insert(0, {str(Path(__file__).parents[2])!r})
        from integration_logs_async.sinks import StoreKey, parse_sink_url
        from integration_logs_async.sinks._duckdb import DuckDBSink
        from tests.sinks._filesinks import log_rows

        async def main():
            sink = DuckDBSink(parse_sink_url("duckdb://{path}"))
            await sink.open(StoreKey({PROVIDER!r}, {STORE!r}, "logs:all"))
            await sink.write(log_rows(0, 100), b'{{"n": 1}}')
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, resource.RLIM_INFINITY))
            try:
                await sink.write(log_rows(100, 60_000), b'{{"n": 2}}')
            except Exception as exc:
                print(type(exc).__name__, exc)
            else:
                print("written")
            await sink.close()

        asyncio.run(main())
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert child.stdout.startswith("SinkFullError"), child.stdout + child.stderr
    assert "the disk is full" in child.stdout
    assert query(path, "SELECT count(*) FROM integration_logs") == [(100,)]
    assert query(path, "SELECT state FROM integration_logs_state") == [('{"n": 1}',)]


async def test_a_table_of_another_shape_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE integration_logs (id INTEGER, note VARCHAR)")
        con.execute("INSERT INTO integration_logs VALUES (1, 'mine')")
    sink = sink_at(path)
    with pytest.raises(SinkSchemaError, match=r"no column provider.*\?table=NAME"):
        await sink.open(KEY)
    assert query(path, "SELECT * FROM integration_logs") == [(1, "mine")]
    tables = query(path, "SELECT table_name FROM information_schema.tables")
    assert tables == [("integration_logs",)]  # nothing created beside it


async def test_tables_of_a_newer_version_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    sink = sink_at(path)
    await sink.open(KEY)
    await sink.close()
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE integration_logs_meta SET value = '2'")
    sink = sink_at(path)
    with pytest.raises(SinkSchemaError, match=r"schema version 2.*newer"):
        await sink.open(KEY)


def version_0_file(path: Path) -> None:
    """A file as version 0 left it: no ``attempt`` column, no integrations table."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE integration_logs (provider VARCHAR NOT NULL, store VARCHAR NOT NULL, "
            "id VARCHAR NOT NULL, integration_id VARCHAR, job_id VARCHAR, created_at "
            "TIMESTAMPTZ, succeeded BOOLEAN, status_code INTEGER, method VARCHAR, url VARCHAR, "
            "error VARCHAR, raw JSON NOT NULL, PRIMARY KEY (provider, store, id))"
        )
        con.execute(
            "CREATE TABLE integration_logs_state (provider VARCHAR NOT NULL, store VARCHAR NOT "
            "NULL, harvest VARCHAR NOT NULL, state JSON NOT NULL, updated_at TIMESTAMPTZ NOT "
            "NULL, PRIMARY KEY (provider, store, harvest))"
        )
        con.execute("CREATE TABLE integration_logs_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("INSERT INTO integration_logs_meta VALUES ('schema_version', '0')")
        con.execute(
            f"INSERT INTO integration_logs VALUES ('{PROVIDER}', '{STORE}', 'old', NULL, NULL, "
            "NULL, true, 200, 'GET', NULL, NULL, '{}')"
        )
        con.execute(
            f"INSERT INTO integration_logs_state VALUES ('{PROVIDER}', '{STORE}', 'logs:all', "
            """'{"v": 0}', now())"""
        )


async def test_version_0_is_migrated_keeping_its_rows_and_state(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    version_0_file(path)
    sink = sink_at(path)
    assert await sink.open(KEY) == b'{"v": 0}'
    assert await sink.write(log_rows(0, 3), b'{"v": 1}') == 3
    await sink.close()
    assert query(path, "SELECT value FROM integration_logs_meta") == [("1",)]
    assert query(path, "SELECT attempt FROM integration_logs WHERE id = 'old'") == [(None,)]
    assert query(path, "SELECT count(*) FROM integration_logs") == [(4,)]
    assert query(path, "SELECT count(*) FROM integration_logs_integrations") == [(0,)]


async def test_a_failed_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "logs.duckdb"
    version_0_file(path)
    steps = (*_duckdb_sql.MIGRATIONS[0], "ALTER TABLE {logs} ADD COLUMN broken NO_SUCH_TYPE")
    monkeypatch.setitem(_duckdb_sql.MIGRATIONS, 0, steps)
    sink = sink_at(path)
    with pytest.raises(SinkError, match="NO_SUCH_TYPE"):
        await sink.open(KEY)
    assert query(path, "SELECT value FROM integration_logs_meta") == [("0",)]
    columns = [c for (c,) in query(path, "SELECT column_name FROM (DESCRIBE integration_logs)")]
    assert "attempt" not in columns and "broken" not in columns
