"""A throwaway PostgreSQL cluster for the sink tests, and its pytest fixtures.

:class:`PostgresServer` runs ``initdb`` and ``pg_ctl`` from the newest
``/usr/lib/postgresql/*/bin`` (else the PATH) in a temporary directory, as the ``postgres``
system user when the tests run as root (``initdb`` refuses root), listening on 127.0.0.1 at a
free port with password (scram-sha-256) authentication and ``fsync=off``. It is stopped and
deleted at the end of the session, on Ctrl-C, and at interpreter exit; a cluster left by a
test process that was killed outright is stopped and deleted by the next session.

Fixtures: ``postgres`` (session: the server) and ``pg_dsn`` (a fresh database per test, as
the superuser). A test directory uses them by re-exporting them from its ``conftest.py``::

    from .._support.postgres import pg_dsn, postgres  # noqa: F401
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # no stubs or py.typed
import pytest

__all__ = ["PASSWORD", "SUPERUSER", "PostgresServer", "find_binaries", "pg_dsn", "postgres"]

SUPERUSER = "postgres"
PASSWORD = "Pg-test-Secret-7f3a"
"""The superuser's password: distinctive, so tests can assert it never shows up."""

_PREFIX = "ila-pg-"
_OWNER = "owner.pid"
_WAIT = 60  # seconds for pg_ctl start/stop
_T = TypeVar("_T")


def find_binaries() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``: the newest
    ``/usr/lib/postgresql/N/bin``, else the PATH's; None when there is none."""

    def major(path: str) -> int:
        name = Path(path).parent.parent.name
        return int(name) if name.isdigit() else -1

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major, reverse=True):
        folder = Path(candidate).parent
        if (folder / "pg_ctl").exists() and (folder / "postgres").exists():
            return folder
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl") and shutil.which("postgres"):
        return Path(initdb).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_async(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` in a loop of its own on another thread (callable from sync fixtures
    whether or not the calling thread runs an event loop)."""
    result: list[_T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # handed to the caller
            error.append(exc)

    thread = threading.Thread(target=target, name="postgres-admin")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


class PostgresServer:
    """One temporary PostgreSQL cluster (see the module docstring). ``start()``/``stop()``,
    or ``with``."""

    def __init__(self, binaries: Path, settings: dict[str, str] | None = None) -> None:
        self.binaries = binaries
        self.settings = dict(settings or {})
        """postgresql.conf settings over the defaults below (e.g. ``max_connections``)."""
        self.port = 0
        self.root = Path()
        self._as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)
        self._running = False

    # -- lifecycle ---------------------------------------------------------------------------

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self._as_postgres else list(args)

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            self._cmd(*args), capture_output=True, text=True, timeout=_WAIT, check=False
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
            )

    def start(self) -> PostgresServer:
        """initdb, configure, ``pg_ctl start -w`` (retried on another port if taken)."""
        _reap_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=_PREFIX))
        (self.root / _OWNER).write_text(str(os.getpid()))
        atexit.register(self.stop)
        data, sockets = self.root / "data", self.root / "sock"
        sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            for path in (sockets, pwfile, self.root / _OWNER):
                shutil.chown(path, "postgres", "postgres")
        self._run(
            str(self.binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{sockets}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "shared_buffers": "64MB",
            **self.settings,
        }
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        for attempt in range(3):
            self.port = _free_port()
            try:
                self._run(
                    str(self.binaries / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    str(_WAIT),
                    "-D",
                    str(data),
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    f"-p {self.port}",
                )
                break
            except RuntimeError:
                if attempt == 2:
                    self.stop()
                    raise
        self._running = True
        return self

    def stop(self) -> None:
        """``pg_ctl stop -m fast`` (then ``immediate``), and delete the directory; idempotent."""
        if not self.root.name.startswith(_PREFIX):
            return
        _stop_cluster(self.root, self._cmd)
        self._running = False
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = Path()
        atexit.unregister(self.stop)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases and roles ----------------------------------------------------------------

    def dsn(
        self, database: str = "postgres", user: str = SUPERUSER, password: str = PASSWORD
    ) -> str:
        """A ``postgresql://`` URL over TCP with password authentication."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def wrong_password_dsn(self, database: str = "postgres") -> str:
        """The superuser's URL with a wrong password."""
        return self.dsn(database, password="Wrong-Password-9c1e")

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run ``sql`` (one or more statements) as the superuser."""

        async def run() -> None:
            conn = await asyncpg.connect(self.dsn(database))
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        _run_async(run())

    def create_database(self) -> str:
        """A new empty database's name (from ``template0``)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def create_role(
        self, database: str, *, read_only: bool = False, grants: str = "", name: str = ""
    ) -> str:
        """A login role (password :data:`PASSWORD`) that may connect to ``database``, with
        ``default_transaction_read_only`` when ``read_only``, and ``grants`` (SQL run in
        ``database`` with ``{role}`` replaced); returns its DSN."""
        role = name or f"role_{os.getpid()}_{next(self._names)}"
        self.execute(
            f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{PASSWORD}';"
            f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{role}";'
            + (f'ALTER ROLE "{role}" SET default_transaction_read_only = on;' if read_only else "")
        )
        if grants:
            self.execute(grants.replace("{role}", f'"{role}"'), database)
        return self.dsn(database, user=role)


def _stop_cluster(root: Path, cmd: Any) -> None:
    data = root / "data"
    if not (data / "postmaster.pid").exists():
        return
    binaries = find_binaries()
    pg_ctl = str(binaries / "pg_ctl") if binaries else "pg_ctl"
    for mode in ("fast", "immediate"):
        done = subprocess.run(
            cmd(pg_ctl, "stop", "-w", "-t", "30", "-m", mode, "-D", str(data)),
            capture_output=True,
            check=False,
        )
        if done.returncode == 0 or not (data / "postmaster.pid").exists():
            return


def _reap_orphans() -> None:
    """Stop and delete clusters whose test process died without cleaning up (kill -9)."""
    as_postgres = os.geteuid() == 0

    def cmd(*args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if as_postgres else list(args)

    for root in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        with contextlib.suppress(OSError, ValueError):
            owner = int((root / _OWNER).read_text())
            try:
                os.kill(owner, 0)
                continue  # its owner still runs
            except ProcessLookupError:
                pass
            _stop_cluster(root, cmd)
            shutil.rmtree(root, ignore_errors=True)


_shared: list[PostgresServer] = []  # the one server of this process, while a fixture uses it
_users = [0]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (fails, never skips, when no server is installed).

    Test directories that import this fixture each get a fixture definition of their own;
    they share one server (counted), stopped when the last of them is torn down."""
    if not _shared:
        binaries = find_binaries()
        if binaries is None:
            pytest.fail(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on the PATH "
                "or in /usr/lib/postgresql/*/bin: install them (apt install postgresql) to run "
                "the sink tests"
            )
        _shared.append(PostgresServer(binaries).start())
    _users[0] += 1
    try:
        yield _shared[0]
    finally:
        _users[0] -= 1
        if _users[0] == 0:
            _shared.pop().stop()


@pytest.fixture
def pg_dsn(postgres: PostgresServer) -> str:
    """A fresh database's DSN (superuser, password authentication over TCP)."""
    return postgres.dsn(postgres.create_database())
