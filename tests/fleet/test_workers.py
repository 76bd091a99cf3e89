"""Fleet workers as separate processes (``integration-logs fleet worker``) against a real
PostgreSQL and emulators served by this test's event loop: a worker killed with ``kill -9``
mid-harvest has its stores retried by the other, every store ending with exactly its
emulator's records, each once; SIGTERM hands the running stores over to the other worker.

The harvests are made slow (emulator latency, small pages) so that a worker is caught
holding a store that has committed some rows but not all. Timeouts only bound a hang.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from integration_logs_async.emulator import EmulatorConfig, EmulatorFleet
from integration_logs_async.fleet._queue import TASK_NAME

from .._support.postgres import PASSWORD
from .test_run import check_exactly_once

SMALL = EmulatorConfig(integrations=3, jobs_per_integration=1)
LOGS = 800  # per store; pages of 20 at 0.15 s each: about 6 s a store
WAIT = 180.0  # seconds: bounds a hang, not a timing assertion
STARTED = re.compile(r"store '([^']+)': started \(job (\d+)\)")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kill -9 and SIGTERM")


@dataclass
class Worker:
    """A ``fleet worker`` process and the lines it has written to stderr so far."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def started(self) -> set[str]:
        """The stores this worker has started."""
        return {m.group(1) for line in self.lines if (m := STARTED.search(line))}

    async def read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))


async def cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "integration_logs_async.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@asynccontextmanager
async def workers(
    count: int, dsn: str, env: dict[str, str], stall: float = 3
) -> AsyncIterator[list[Worker]]:
    """``count`` worker processes (heartbeat 0.5 s, ``stall`` seconds), killed at the end."""
    started: list[Worker] = []
    try:
        for _ in range(count):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "integration_logs_async.cli",
                "fleet",
                "worker",
                "--dsn",
                dsn,
                "--concurrency",
                "2",
                "--heartbeat",
                "0.5",
                "--stall",
                f"{stall:g}",
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            worker = Worker(process)
            worker.reader = asyncio.create_task(worker.read())
            started.append(worker)
        yield started
    finally:
        for worker in started:
            if worker.process.returncode is None:
                worker.process.kill()
            await asyncio.wait_for(worker.process.wait(), WAIT)
            if worker.reader is not None:
                await asyncio.wait_for(worker.reader, WAIT)


async def query(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(sql, args or None)
        return list(await cursor.fetchall())


async def committed(dsn: str) -> dict[str, int]:
    """Rows committed per store in the sink (none before its table exists)."""
    found = await query(dsn, "SELECT to_regclass('integration_logs') IS NOT NULL")
    if not found[0][0]:
        return {}
    return dict(await query(dsn, "SELECT store, count(*) FROM integration_logs GROUP BY store"))


async def job_states(dsn: str) -> dict[str, tuple[str, int]]:
    """Store -> (status, attempts) of its latest job."""
    found = await query(
        dsn,
        "SELECT DISTINCT ON (args->'store'->>'name') args->'store'->>'name', status::text, "
        "attempts FROM procrastinate_jobs WHERE task_name = %s "
        "ORDER BY args->'store'->>'name', id DESC",
        TASK_NAME,
    )
    return {str(name): (str(status), int(attempts)) for name, status, attempts in found}


async def until(check: Callable[[], Awaitable[Any]], what: str, crew: list[Worker]) -> Any:
    """Poll until ``check`` returns something true; fail with the workers' output after
    :data:`WAIT` seconds."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            output = "\n".join(f"[{i}] {line}" for i, w in enumerate(crew) for line in w.lines)
            pytest.fail(f"gave up waiting for {what}; workers said:\n{output}")
        await asyncio.sleep(0.05)


async def enqueued(tmp_path: Path, fleet: EmulatorFleet, dsn: str) -> dict[str, str]:
    """Write the stores file and enqueue it twice through the command line: every store
    queued, then already waiting. Returns the workers' environment."""
    stores = tmp_path / "stores.toml"
    stores.write_text(fleet.stores_toml(rate_limit=0, scope="all", page_size=20))
    env = {**os.environ, **fleet.env()}
    code, out, err = await cli("fleet", "enqueue", str(stores), "--dsn", dsn, env=env)
    assert code == 0, err
    assert [line.split(" (job")[0] for line in out.splitlines()[:-1]] == [
        f"{name}: queued" for name in fleet.names
    ]
    code, out, err = await cli("fleet", "enqueue", str(stores), "--dsn", dsn, env=env)
    assert code == 0, err
    assert out.splitlines() == [
        *(f"{name}: already waiting" for name in fleet.names),
        f"total: {len(fleet.names)} store(s): {len(fleet.names)} already waiting",
    ]
    assert PASSWORD not in out + err
    return env


def holding(crew: list[Worker], seen: dict[str, int]) -> tuple[Worker, str] | None:
    """A worker and a store it runs that has committed some rows, not all."""
    for worker in crew:
        for name in sorted(worker.started()):
            if 0 < seen.get(name, 0) < LOGS:
                return worker, name
    return None


async def test_kill_9_of_a_worker_mid_harvest_every_store_exactly_once(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with EmulatorFleet(4, config=SMALL, logs=LOGS, latency=0.15) as fleet:
        env = await enqueued(tmp_path, fleet, pg_dsn)
        # a stall longer than the test: the killed worker's job is queued again because its
        # process is gone (missed beats, its job lock released with its session)
        async with workers(2, pg_dsn, env, stall=WAIT) as crew:

            async def victim() -> tuple[Worker, str] | None:
                return holding(crew, await committed(pg_dsn))

            killed, store = await until(victim, "a store with some rows committed", crew)
            killed.process.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(killed.process.wait(), WAIT) == -signal.SIGKILL
            survivor = next(w for w in crew if w is not killed)

            async def all_done() -> bool:
                states = await job_states(pg_dsn)
                return len(states) == 4 and all(s == "succeeded" for s, _ in states.values())

            await until(all_done, "every store's job to succeed", crew)
            states = await job_states(pg_dsn)
            assert states[store][1] >= 1, "the killed worker's store was retried"
            assert store in survivor.started()
            assert any(
                f"store {store!r}: job" in line and "retried: its worker is gone" in line
                for worker in crew
                for line in worker.lines
            )
            survivor.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(survivor.process.wait(), WAIT) == 143
        assert any("terminated (SIGTERM)" in line for line in survivor.lines)
        for name, emu in zip(fleet.names, fleet.emulators, strict=True):
            await check_exactly_once(pg_dsn, name, emu)
        assert await committed(pg_dsn) == dict.fromkeys(fleet.names, LOGS)


async def test_sigterm_hands_the_running_stores_to_the_other_worker(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with EmulatorFleet(2, config=SMALL, logs=LOGS, latency=0.15) as fleet:
        env = await enqueued(tmp_path, fleet, pg_dsn)
        async with workers(1, pg_dsn, env) as first:

            async def running() -> tuple[Worker, str] | None:
                return holding(first, await committed(pg_dsn))

            await until(running, "a store with some rows committed", first)
            first[0].process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(first[0].process.wait(), WAIT) == 143
            assert any("terminated (SIGTERM)" in line for line in first[0].lines)
        states = await job_states(pg_dsn)  # queued again at once, not left to the reaper
        assert {status for status, _ in states.values()} == {"todo"}
        assert all(attempts == 1 for _, attempts in states.values())
        async with workers(1, pg_dsn, env) as second:

            async def all_done() -> bool:
                states = await job_states(pg_dsn)
                return all(s == "succeeded" for s, _ in states.values())

            await until(all_done, "every store's job to succeed", second)
        for name, emu in zip(fleet.names, fleet.emulators, strict=True):
            await check_exactly_once(pg_dsn, name, emu)
