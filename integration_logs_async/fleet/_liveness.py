"""Whether a running job's worker process still exists: a lock per job in the queue database.

A worker holds, in one session of its own (:class:`JobLocks`), a session-level advisory lock
for each job it runs (:func:`job_lock_key`). PostgreSQL ends a session whose client closed
its socket, and with it the session's locks: a worker killed (``kill -9``, out of memory) or
crashed leaves its jobs "doing" with no lock (:func:`held_jobs`). The reaper
(:func:`~._worker.reap_stalled`) queues such a job again once its worker has also missed two
heartbeats, seconds after the kill, instead of waiting the whole stall. A worker that is
alive but slow, frozen or cut off keeps its session and so its locks: its jobs wait for the
stall, as before. Neither path is what keeps a store exactly once (the sink's transaction and
its per-store lock are); this only decides how soon a dead worker's stores run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any

import psycopg
from procrastinate.connector import BaseConnector

logger = logging.getLogger(__name__)

JOB_LOCK_SPACE = 0x696C_6A62  # "iljb": the first of the two int4 keys of every job lock
_CONNECT_TIMEOUT = 10  # seconds
_LOCK_WAIT = 2.0  # seconds a job's start or end waits at most for its lock
_PROBE_WAIT = 5.0  # seconds the session may take to answer the heartbeat's check
# the server probes an idle session, so a lost machine's locks go in about a minute (the
# stall has queued its jobs again long before; this only frees the server's slots)
_KEEPALIVES: dict[str, Any] = {
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}

HELD_SQL = """
SELECT l.objid::bigint AS job_key FROM pg_locks l
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid::bigint = %(space)s AND l.objid::bigint = ANY(%(keys)s)
"""
"""The job keys (their :func:`job_lock_key` second halves, unsigned, as ``pg_locks`` shows
them) that some session of this database holds."""


def job_lock_key(job_id: int) -> tuple[int, int]:
    """The two int4 keys of job ``job_id``'s advisory lock: :data:`JOB_LOCK_SPACE` and the
    id's low 32 bits as a signed int4 (jobs 2**32 ids apart are never both running)."""
    low = job_id & 0xFFFF_FFFF
    return JOB_LOCK_SPACE, low - (1 << 32) if low >= 1 << 31 else low


def _shown(job_id: int) -> int:
    """Job ``job_id``'s second key as ``pg_locks.objid`` shows it (an unsigned oid)."""
    return job_id & 0xFFFF_FFFF


async def held_jobs(connector: BaseConnector, job_ids: Collection[int]) -> set[int]:
    """Those of ``job_ids`` whose lock some session of the queue database holds
    (``connector``: the queue app's)."""
    if not job_ids:
        return set()
    by_key = {_shown(job_id): job_id for job_id in job_ids}
    rows = await connector.execute_query_all_async(
        query=HELD_SQL, space=JOB_LOCK_SPACE, keys=list(by_key)
    )
    return {by_key[int(row["job_key"])] for row in rows}


class JobLocks:
    """One worker's session in the queue database, holding the lock of each job it runs.

    Use ``async with JobLocks(dsn) as locks`` and ``async with locks.holding(job_id)``
    around a job. :meth:`keep` (called every heartbeat) checks the session, opens it again
    should it have broken (the database restarted), and takes the running jobs' locks it
    lacks. A lock that cannot be taken at once (the session is down or slow, or another
    session holds that job's lock still) is not an error: the job runs, only the stall
    vouching for it until :meth:`keep` takes the lock.
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._running: set[int] = set()  # the jobs whose locks this worker means to hold
        self._held: set[int] = set()  # those whose lock the current session has
        self._turn = asyncio.Lock()  # one lock operation at a time: each taken once

    async def __aenter__(self) -> JobLocks:
        self._conn = await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            await conn.close()  # its locks go with the session

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=_CONNECT_TIMEOUT,
            application_name="integration-logs fleet worker",
            **_KEEPALIVES,
        )

    @property
    def held(self) -> frozenset[int]:
        """The jobs whose lock the worker's session holds now."""
        return frozenset(self._held)

    async def _call(self, function: str, job_id: int) -> bool:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return False
        try:
            cursor = await conn.execute(f"SELECT {function}(%s, %s)", job_lock_key(job_id))
            row = await cursor.fetchone()
        except psycopg.Error as exc:  # the session broke: keep() opens it again
            logger.warning("fleet worker: the job locks' session failed: %s", exc)
            return False
        return bool(row and row[0])

    async def _take(self, job_id: int) -> None:
        missing = job_id in self._running and job_id not in self._held
        if missing and await self._call("pg_try_advisory_lock", job_id):
            self._held.add(job_id)

    async def _release(self, job_id: int) -> None:
        if job_id in self._held:
            self._held.discard(job_id)
            await self._call("pg_advisory_unlock", job_id)

    async def _in_turn(self, step: Callable[[int], Awaitable[None]], job_id: int) -> None:
        """``step(job_id)`` in turn, waiting :data:`_LOCK_WAIT` seconds at most: a slow or
        stuck session never holds a job up (:meth:`keep` mends it)."""
        try:
            async with asyncio.timeout(_LOCK_WAIT), self._turn:
                await step(job_id)
        except TimeoutError:
            logger.warning("fleet worker: the job locks' session is slow (job %s)", job_id)

    @contextlib.asynccontextmanager
    async def holding(self, job_id: int) -> AsyncIterator[None]:
        """Hold job ``job_id``'s lock while the block runs."""
        self._running.add(job_id)
        await self._in_turn(self._take, job_id)
        try:
            yield
        finally:
            self._running.discard(job_id)
            await self._in_turn(self._release, job_id)

    async def keep(self) -> None:
        """Check the session (opened again if it broke: the database restarted) and take
        the running jobs' locks it lacks (raises the driver's error while the database
        cannot be reached)."""
        async with self._turn:
            conn = self._conn
            alive = conn is not None and not (conn.closed or conn.broken)
            if conn is not None and alive:
                try:
                    async with asyncio.timeout(_PROBE_WAIT):
                        await conn.execute("SELECT 1")
                except (psycopg.Error, TimeoutError):
                    alive = False
            if not alive:
                if conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        await conn.close()
                self._conn, self._held = None, set()
                self._conn = await self._connect()
            for job_id in sorted(self._running - self._held):
                await self._take(job_id)


__all__ = ["JOB_LOCK_SPACE", "JobLocks", "held_jobs", "job_lock_key"]
