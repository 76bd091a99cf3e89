"""A worker's job locks (``fleet/_liveness.py``) and the reaper's two paths, against a real
PostgreSQL: a job whose worker missed heartbeats and whose lock no session holds is queued
again at once ("gone"); one whose lock a session holds waits for the whole stall
("silent"); a worker that beats is never reaped, lock or not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from integration_logs_async.emulator import EmulatorFleet
from integration_logs_async.fleet import _liveness as liveness
from integration_logs_async.fleet._liveness import JOB_LOCK_SPACE, JobLocks, held_jobs, job_lock_key
from integration_logs_async.fleet._queue import Queue, enqueue, open_queue
from integration_logs_async.fleet._worker import reap_stalled

from .test_queue import SMALL, jobs, rows, stores_of

INT4 = range(-(2**31), 2**31)


@pytest.mark.parametrize(
    ("job_id", "second"),
    [(1, 1), (2**31 - 1, 2**31 - 1), (2**31, -(2**31)), (2**32 - 1, -1), (2**32 + 5, 5)],
)
def test_a_job_lock_key_is_two_int4_from_the_ids_low_bits(job_id: int, second: int) -> None:
    space, key = job_lock_key(job_id)
    assert (space, key) == (JOB_LOCK_SPACE, second)
    assert space in INT4 and key in INT4


async def test_held_jobs_sees_the_locks_a_worker_holds_until_the_job_or_session_ends(
    pg_dsn: str,
) -> None:
    high = 2**31 + 3  # shown by pg_locks as an unsigned oid: must still be found
    async with open_queue(pg_dsn) as queue:
        connector = queue.app.connector
        async with JobLocks(pg_dsn) as locks:
            async with locks.holding(7), locks.holding(high):
                assert await held_jobs(connector, [7, high, 9]) == {7, high}
                assert locks.held == {7, high}
            assert await held_jobs(connector, [7, high]) == set()  # released with the job
            async with locks.holding(11):
                other = JobLocks(pg_dsn)
                async with other, other.holding(11):  # another session has it: not taken
                    assert other.held == frozenset()
                assert await held_jobs(connector, [11]) == {11}
                await locks.__aexit__(None, None, None)  # the session ends, as at a kill
                assert await held_jobs(connector, [11]) == set()


async def test_job_locks_are_taken_again_when_their_session_comes_back(pg_dsn: str) -> None:
    async with open_queue(pg_dsn) as queue, JobLocks(pg_dsn) as locks, locks.holding(5):
        await rows(
            pg_dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'integration-logs fleet worker'",
        )
        assert await held_jobs(queue.app.connector, [5]) == set()
        await locks.keep()  # the heartbeat's check: the session is opened again
        assert await held_jobs(queue.app.connector, [5]) == {5}
        await locks.keep()  # a live session is left as it is
        assert locks.held == {5}
    async with open_queue(pg_dsn) as queue:
        assert await held_jobs(queue.app.connector, [5]) == set()


async def test_a_stuck_session_never_holds_a_job_up_and_keep_takes_its_lock_later(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(liveness, "_LOCK_WAIT", 0.2)
    async with open_queue(pg_dsn) as queue, JobLocks(pg_dsn) as locks:
        connector = queue.app.connector
        await locks._turn.acquire()  # the session busy: a check stuck on the network, say
        try:
            async with asyncio.timeout(30), locks.holding(8):  # starts without its lock
                assert await held_jobs(connector, [8]) == set()
                locks._turn.release()
                await locks.keep()  # the next heartbeat's check takes it
                assert await held_jobs(connector, [8]) == {8}
                assert locks.held == {8}
            assert await held_jobs(connector, [8]) == set()
        finally:
            if locks._turn.locked():
                locks._turn.release()


async def silence(dsn: str, worker_ids: Iterable[int], seconds: float) -> None:
    """Make workers look silent for ``seconds`` (their last heartbeat that long ago)."""
    await rows(
        dsn,
        "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => %s) "
        "WHERE id = ANY(%s)",
        seconds,
        list(worker_ids),
    )


async def fetched(queue: Queue) -> tuple[int, int]:
    """A registered worker that fetched one job: (worker id, job id)."""
    manager = queue.app.job_manager
    worker_id = await manager.register_worker()
    job = await manager.fetch_job(None, worker_id)
    assert job is not None and job.id is not None
    return worker_id, job.id


async def test_a_gone_workers_job_is_queued_again_at_once_a_silent_ones_after_the_stall(
    pg_dsn: str,
) -> None:
    async with EmulatorFleet(3, config=SMALL, logs=5) as fleet:
        await enqueue(stores_of(fleet), pg_dsn)
        async with open_queue(pg_dsn) as queue, JobLocks(pg_dsn) as locks:
            gone, gone_job = await fetched(queue)  # killed: no session holds its job's lock
            frozen, frozen_job = await fetched(queue)  # its session lives on
            await fetched(queue)  # no lock (yet), but its worker beats: left alone
            async with locks.holding(frozen_job):
                await silence(pg_dsn, [gone, frozen], 5)
                reaped = await reap_stalled(queue.app, stall=10, missed=2)
                assert [(r.job_id, r.action, r.cause) for r in reaped] == [
                    (gone_job, "retried", "gone")
                ]
                assert await reap_stalled(queue.app, stall=10) == []  # stall path: none yet
                await silence(pg_dsn, [frozen], 60)
                reaped = await reap_stalled(queue.app, stall=10, missed=2)
                assert [(r.job_id, r.action, r.cause) for r in reaped] == [
                    (frozen_job, "retried", "silent")
                ]
        found = {j[1]: j[2] for j in await jobs(pg_dsn)}
        assert found == dict(zip(fleet.names, ["todo", "todo", "doing"], strict=True))


async def test_the_reaper_without_missed_waits_for_the_stall_lock_or_not(pg_dsn: str) -> None:
    async with EmulatorFleet(1, config=SMALL, logs=5) as fleet:
        await enqueue(stores_of(fleet), pg_dsn)
        async with open_queue(pg_dsn) as queue:
            gone, job_id = await fetched(queue)
            await silence(pg_dsn, [gone], 5)
            assert await reap_stalled(queue.app, stall=10) == []
            assert await reap_stalled(queue.app, stall=10, missed=10) == []  # not below stall
            await silence(pg_dsn, [gone], 60)
            reaped = await reap_stalled(queue.app, stall=10)
            assert [(r.job_id, r.cause) for r in reaped] == [(job_id, "silent")]
