"""Benchmark 8 — fleet: 100 rate-limited stores in one process, 1 vs 2 workers, a killed worker.

The stores: one emulator process (``--stores N``, pinned to the server's CPU with the
PostgreSQL cluster, which has fsync on: ``benchmarks._sinks_postgres``) serving N independent
Sendcloud v2 stores, each with its own credentials, data (``--logs`` each) and rate limit of R
requests/s per credential, and 20 ms added to every data request. Its stores file sets the
client's ``rate_limit = R`` and ``page_size`` (the client paces 2% below an explicit limit).
Every phase harvests into a fresh database and must leave each store's logs there exactly
once (rows and distinct ids per store), else the benchmark is broken.

1. One process (``run_fleet``, concurrency N, in a worker process on the client's CPU):
   aggregate requests/s against N × R (target >= 0.9), 429 responses against requests
   (target <= 1%), and client CPU per record against a single-store harvest of one of the
   same stores (``run_store`` alone; target <= 1.10×).
2. Workers: ``integration-logs fleet worker`` processes on the client's CPU, the stores
   queued with ``fleet enqueue``; wall time from the enqueue to the last job done. (a) 1
   worker against 2 with the same total concurrency (N, or N/2 each: the queue's overhead,
   reported); (b) 1 worker against 2 with the same concurrency each (N/2: what adding a
   worker gives). The stores are rate-bound, so two waves against one; each run also pays
   ~3 s once (workers picking up, the first requests, the last store's tail) against ~28 s
   a wave, so the ideal here is ~1.88x: target >= 1.7x the records/s (both workers share
   one core here).
3. A killed worker: two workers, kill -9 of the first once a third of the records are in;
   the time from the kill until each of its jobs runs again on the other worker (the
   reaper: a worker gone, its job locks released with its session, after
   ``FLEET_DEAD_AFTER_BEATS`` missed heartbeats of 1 s, not the whole 10 s stall; target
   <= those beats + 3 heartbeats: one for the reaper's round, one for the other worker's
   poll, one of room), then every store exactly once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from integration_logs_async._constants import FLEET_DEAD_AFTER_BEATS

from ._common import (
    CLIENT_CORES,
    ROOT,
    BenchmarkError,
    EmulatorProcess,
    Row,
    Section,
    Target,
    _pin,
    ratio,
    run_worker,
)
from ._context import Context
from ._sinks_postgres import available, postgres_server, query

__all__ = ["NAME", "TITLE", "run"]

NAME = "fleet"
TITLE = "Fleet: rate-limited stores in one process, 1 vs 2 workers, a killed worker"

LATENCY = 0.02
DONE = ("succeeded", "failed")


def _timing(quick: bool) -> tuple[float, float]:
    """The workers' heartbeat and stall: their defaults (``fleet worker --heartbeat 1
    --stall 10``), shorter in a smoke run (its kill phase waits for the stall)."""
    return (0.5, 2.0) if quick else (1.0, 10.0)


def _sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"stores": 6, "logs": 120, "rate": 10, "page": 20, "integrations": 3}
    # 100 stores × 2 requests/s × 20 logs: 200 requests and 4,000 logs a second for the server
    # core (the emulator and PostgreSQL); at 5 requests/s it saturated and 429s followed
    return {"stores": 100, "logs": 1_000, "rate": 2, "page": 20, "integrations": 5}


class _Fleet:
    """The emulated stores and a PostgreSQL server; fresh databases per phase."""

    def __init__(self, ctx: Context, server: Any, emu: EmulatorProcess, size: dict[str, int]):
        self.ctx, self.server, self.emu, self.size = ctx, server, emu, size
        self.env: dict[str, str] = dict(emu.info["env"])
        self.stores_file = str(emu.info["stores_file"])
        self.names = [s["name"] for s in emu.info["stores"]]
        self.heartbeat, self.stall = _timing(ctx.quick)
        self._count = 0

    def fresh(self) -> tuple[str, str]:
        self._count += 1
        name = f"fleet_bench_{os.getpid()}_{self._count}"
        self.server.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name, str(self.server.dsn(name))

    def drop(self, database: str) -> None:
        self.server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def rows(self, database: str) -> dict[str, tuple[int, int]]:
        try:
            found = query(
                self.server,
                "SELECT store, count(*), count(DISTINCT id) FROM integration_logs GROUP BY store",
                database,
            )
        except Exception:  # the table does not exist yet
            return {}
        return {str(store): (int(rows), int(ids)) for store, rows, ids in found}

    def check(self, database: str, stores: list[str], what: str) -> None:
        """Each of ``stores`` holds its logs exactly once, or the benchmark is broken."""
        found = self.rows(database)
        expect = self.size["logs"]
        wrong = {s: found.get(s, (0, 0)) for s in stores if found.get(s) != (expect, expect)}
        if wrong:
            sample = dict(list(wrong.items())[:5])
            raise BenchmarkError(
                f"{what}: {len(wrong)} stores without exactly their {expect:,} logs once "
                f"(rows, distinct ids): {sample}"
            )

    def jobs(self, database: str) -> list[tuple[int, str, int | None]]:
        try:
            found = query(
                self.server, "SELECT id, status::text, worker_id FROM procrastinate_jobs", database
            )
        except Exception:
            return []
        return [(int(i), str(s), None if w is None else int(w)) for i, s, w in found]

    def workers(self, database: str) -> list[int]:
        try:
            found = query(self.server, "SELECT id FROM procrastinate_workers ORDER BY id", database)
        except Exception:
            return []
        return [int(row[0]) for row in found]


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "integration_logs_async.cli", *args]


@contextlib.contextmanager
def _workers(
    fleet: _Fleet, dsn: str, database: str, count: int, concurrency: int
) -> Iterator[list[Any]]:
    """``count`` worker processes on the client's CPU, started one after another (so the
    queue's worker ids follow the start order), stopped with SIGTERM at the end."""
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, **fleet.env}
    options = ["--concurrency", str(concurrency), "--heartbeat", f"{fleet.heartbeat:g}"]
    options += ["--stall", f"{fleet.stall:g}"]
    try:
        for n in range(count):
            procs.append(
                subprocess.Popen(
                    _cli("fleet", "worker", "--dsn", dsn, *options),
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    preexec_fn=lambda: _pin(CLIENT_CORES),
                )
            )
            _wait(lambda n=n: len(fleet.workers(database)) > n, 60, f"worker {n + 1} to start")
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait(done: Any, timeout: float, what: str, every: float = 0.05) -> float:
    """Poll ``done()`` until true; the time it took (BenchmarkError after ``timeout``)."""
    start = time.perf_counter()
    while not done():
        if time.perf_counter() - start > timeout:
            raise BenchmarkError(f"fleet: gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(every)
    return time.perf_counter() - start


def _enqueue(fleet: _Fleet, dsn: str) -> None:
    done = subprocess.run(
        _cli("fleet", "enqueue", fleet.stores_file, "--dsn", dsn),
        cwd=ROOT,
        env={**os.environ, **fleet.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkError(f"fleet enqueue failed ({done.returncode}): {done.stderr[-2000:]}")


def _finished(fleet: _Fleet, database: str) -> bool:
    jobs = fleet.jobs(database)
    return len(jobs) >= len(fleet.names) and all(s in DONE for _, s, _ in jobs)


def _queued_run(fleet: _Fleet, count: int, each: int | None = None) -> dict[str, Any]:
    """The whole fleet through ``count`` workers running ``each`` stores at once (default:
    N stores at once over all): seconds from the enqueue to the last job."""
    database, dsn = fleet.fresh()
    try:
        share = each or max(1, -(-fleet.size["stores"] // count))
        with _workers(fleet, dsn, database, count, share):
            start = time.perf_counter()
            _enqueue(fleet, dsn)
            _wait(lambda: _finished(fleet, database), 900, f"{count} workers to finish")
            wall = time.perf_counter() - start
        fleet.check(database, fleet.names, f"{count} workers")
        failed = [j for j in fleet.jobs(database) if j[1] != "succeeded"]
        if failed:
            raise BenchmarkError(f"{count} workers: jobs not succeeded: {failed[:5]}")
        records = len(fleet.names) * fleet.size["logs"]
        return {
            "workers": count,
            "concurrency_each": share,
            "wall": wall,
            "records": records,
            "records_per_s": records / wall,
        }
    finally:
        fleet.drop(database)


def _kill_run(fleet: _Fleet) -> dict[str, Any]:
    """Two workers; kill -9 the first mid-harvest; seconds until its jobs run elsewhere."""
    database, dsn = fleet.fresh()
    total = len(fleet.names) * fleet.size["logs"]
    try:
        # each worker can take every store, so the survivor has room for the orphans at once:
        # what is measured is the reaper, not a full worker's queue
        with _workers(fleet, dsn, database, 2, fleet.size["stores"]) as procs:
            first, _second = fleet.workers(database)[:2]
            _enqueue(fleet, dsn)

            def mid_way() -> bool:
                held = {w for _, s, w in fleet.jobs(database) if s == "doing"}
                rows = sum(r for r, _ in fleet.rows(database).values())
                return first in held and rows >= total // 3

            _wait(mid_way, 600, "a third of the records with the first worker busy", every=0.1)
            orphans = {i for i, s, w in fleet.jobs(database) if s == "doing" and w == first}
            procs[0].kill()
            killed = time.perf_counter()
            again: dict[int, float] = {}

            def all_again() -> bool:
                now = time.perf_counter() - killed
                for job, status, worker in fleet.jobs(database):
                    moved = (status == "doing" and worker != first) or status in DONE
                    if job in orphans and job not in again and moved:
                        again[job] = now
                return len(again) == len(orphans)

            _wait(all_again, 300, "the killed worker's jobs to run again", every=0.05)
            _wait(lambda: _finished(fleet, database), 900, "the fleet to finish after the kill")
        fleet.check(database, fleet.names, "a killed worker")
        times = sorted(again.values())
        return {
            "orphaned_jobs": len(orphans),
            "again_median_s": statistics.median(times) if times else None,
            "again_max_s": max(times) if times else None,
        }
    finally:
        fleet.drop(database)


def _in_process(fleet: _Fleet, variant: str, **extra: Any) -> dict[str, Any]:
    database, dsn = fleet.fresh()
    try:
        spec = {
            "variant": variant,
            "stores_file": fleet.stores_file,
            "to": dsn,
            "env": fleet.env,
            "concurrency": fleet.size["stores"],
            **extra,
        }
        result = run_worker(spec, timeout=1200)
        if result.get("not_completed"):
            raise BenchmarkError(f"fleet {variant}: stores failed: {result['not_completed']}")
        fleet.check(
            database, [extra.get("store", "")] if "store" in extra else fleet.names, variant
        )
        return result
    finally:
        fleet.drop(database)


def run(ctx: Context) -> Section:
    section = Section(NAME, TITLE)
    if not available():
        ctx.say("fleet: no PostgreSQL server binaries or asyncpg: the fleet benchmark is left out")
        return section
    size = _sizes(ctx.quick)
    n, rate = size["stores"], size["rate"]
    stores_file = Path(ctx.scratch) / "fleet-stores.toml"
    stores_file.unlink(missing_ok=True)
    emulator_args = [
        "--elasticpath-logs", "10",
        "--stores", str(n),
        "--stores-file", str(stores_file),
        "--stores-key", f"rate_limit={rate}",
        "--stores-key", f"page_size={size['page']}",
        "--fault", "latency=1",
        "--fault", f"latency_seconds={LATENCY}",
    ]  # fmt: skip
    connections = str(2 * n + 50)  # a store's sink and status connections, plus workers
    with (
        postgres_server({"max_connections": connections}) as server,
        EmulatorProcess(
            logs=size["logs"],
            integrations=size["integrations"],
            jobs_per_integration=1,
            rate_limit=rate,
            extra=emulator_args,
        ) as emu,
    ):
        fleet = _Fleet(ctx, server, emu, size)
        ctx.say(f"fleet: {n} stores in one process")
        cpu0 = _cpu_seconds(emu.pid)
        whole = _in_process(fleet, "fleet_run")
        whole["emulator_cpu_share"] = (_cpu_seconds(emu.pid) - cpu0) / whole["wall"]
        ctx.say("fleet: one store alone")
        single = _in_process(fleet, "fleet_store", store=fleet.names[0])
        half = max(1, n // 2)
        plan = [(1, half), (2, half)]  # the same concurrency each: what a second worker adds
        if not ctx.quick:
            plan.insert(0, (1, n))  # the same total as two: the queue's own overhead
        queued: list[dict[str, Any]] = []
        for workers, each in plan:
            ctx.say(f"fleet: {workers} worker(s), {each} stores at once each")
            queued.append(_queued_run(fleet, workers, each))
        ctx.say("fleet: a killed worker")
        killed = _kill_run(fleet)
    stores_file.unlink(missing_ok=True)
    section.raw.update({"one_process": whole, "single": single, "queued": queued, "kill": killed})

    aggregate = whole["requests"] / whole["wall"]
    share_429 = whole["rate_limited"] / max(1, whole["requests"])
    cpu_ratio = ratio(whole["cpu_us_per_record"], single["cpu_us_per_record"])
    one, two = queued[-2:]  # 1 and 2 workers, the same concurrency each
    scale = two["records_per_s"] / one["records_per_s"]
    note = f"{n} stores × {size['logs']:,} logs, {rate} req/s each, +{LATENCY * 1000:.0f} ms"
    section.rows += [
        Row(
            NAME,
            f"one process, {n} stores",
            {
                "req/s": aggregate,
                "x N×R": aggregate / (n * rate),
                "429 %": 100 * share_429,
                "rec/s": whole["records_per_s"],
                "client CPU us/rec": whole["cpu_us_per_record"],
                "x single CPU": cpu_ratio,
                "wall s": whole["wall"],
                "emulator CPU %": 100 * whole["emulator_cpu_share"],
            },
            note=note,
        ),
        Row(
            NAME,
            "one store alone",
            {
                "req/s": single["requests"] / single["wall"],
                "rec/s": single["records_per_s"],
                "client CPU us/rec": single["cpu_us_per_record"],
                "wall s": single["wall"],
            },
            note=f"{fleet.names[0]}, run_store",
        ),
        *(
            Row(
                NAME,
                f"{q['workers']} worker{'s' if q['workers'] > 1 else ''}, "
                f"{q['concurrency_each']} stores at once each",
                {"rec/s": q["records_per_s"], "wall s": q["wall"]},
                note="enqueue to last job done; workers share the client core",
            )
            for q in queued
        ),
        Row(
            NAME,
            "killed worker: its jobs running again",
            {"jobs": killed["orphaned_jobs"], "median s": killed["again_median_s"],
             "max s": killed["again_max_s"]},
            note=f"kill -9 at 1/3; heartbeat {fleet.heartbeat:g} s, stall {fleet.stall:g} s",
        ),
    ]  # fmt: skip
    section.targets += [
        Target(NAME, f"{n} stores: requests/s ÷ ({n} × {rate}/s)", aggregate / (n * rate),
               ">=", 0.9),
        Target(NAME, "429 responses ÷ requests", share_429, "<=", 0.01),
        Target(NAME, "client CPU/record: fleet ÷ one store", cpu_ratio, "<=", 1.10),
        Target(NAME, f"records/s: 2 workers ÷ 1, {half} stores at once each", scale, ">=", 1.7),
        Target(NAME, "killed worker's jobs running again (s)", killed["again_max_s"], "<=",
               (FLEET_DEAD_AFTER_BEATS + 3) * fleet.heartbeat),
    ]  # fmt: skip
    return section
