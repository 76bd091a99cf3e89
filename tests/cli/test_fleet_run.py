"""``integration-logs fleet run`` and ``fleet status``: the summary per store and in total,
exit 0 only when every store completed (7 otherwise), usage errors, and SIGTERM (exit 143,
committed batches kept, the rerun completes every store exactly once)."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async.cli._common import EXIT_PARTIAL, EXIT_USAGE
from integration_logs_async.cli._signals import EXIT_TERMINATED
from integration_logs_async.emulator import EmulatorConfig, EmulatorFleet

from .._support.cli import cli_command, cli_env, run_main
from .._support.postgres import PASSWORD, pg_dsn, postgres  # noqa: F401 - fixtures
from .._support.store import store_ids
from ..harvest._helpers import signal_when
from ..harvest._sink_reader import read_store

SMALL = EmulatorConfig(integrations=3, jobs_per_integration=1)


@pytest.fixture
def dsn(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database."""
    value: str = request.getfixturevalue("pg_dsn")
    return value


@pytest.fixture
def fleet() -> Iterator[EmulatorFleet]:
    """Three emulated stores (40, 50 and 60 logs) served by a thread of their own, so that
    ``main()`` can run its own event loop in the test's thread."""
    loop = asyncio.new_event_loop()
    thread_done: Future[None] = Future()

    def serve() -> None:
        try:
            loop.run_forever()
        finally:
            thread_done.set_result(None)

    threading.Thread(target=serve, name="fleet-emulators", daemon=True).start()
    emulators = EmulatorFleet(3, config=SMALL, logs=[40, 50, 60])
    asyncio.run_coroutine_threadsafe(emulators.start(), loop).result(30)
    try:
        yield emulators
    finally:
        asyncio.run_coroutine_threadsafe(emulators.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread_done.result(10)
        loop.close()


def stores_file(tmp_path: Path, fleet: EmulatorFleet, **keys: Any) -> str:
    path = tmp_path / "stores.toml"
    path.write_text(fleet.stores_toml(rate_limit=0, **keys))
    return str(path)


def summary_rows(stdout: str) -> dict[str, list[str]]:
    """The summary's store lines by store name (split on whitespace)."""
    lines = stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["store", "outcome", "records"]
    assert lines[-1].startswith("total: ")
    return {line.split()[0]: line.split() for line in lines[1:-1]}


def stored_ids(dsn: str, store: str) -> Counter[str]:
    stored = asyncio.run(read_store(dsn, "sendcloud", store))
    return Counter(log.id for log in stored.logs)


def test_summary_exit_codes_and_status(
    fleet: EmulatorFleet, dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = stores_file(tmp_path, fleet)
    env = fleet.env()
    bad = fleet.store(2)
    env[bad.credentials["secret_key"]] = "Not-The-Secret-4d2a"
    code, out, err = run_main(["fleet", "run", path, "--to", dsn], env, capsys)
    assert code == EXIT_PARTIAL == 7, err
    rows = summary_rows(out)
    names = fleet.names
    assert rows[names[0]][1:3] == ["completed", "40"]
    assert rows[names[1]][1:3] == ["completed", "50"]
    assert rows[names[2]][1:3] == ["failed", "0"]
    assert "refused the credentials" in out and "$" + bad.credentials["secret_key"] in out
    assert out.strip().splitlines()[-1].startswith("total: 3 store(s): 2 completed, 1 failed; 90")
    assert f"{names[2]}: failed" in err  # a line per store as it finishes
    for text in (out, err):
        assert "Not-The-Secret-4d2a" not in text and PASSWORD not in text

    code, out, err = run_main(["fleet", "run", path, "--to", dsn, "--quiet"], fleet.env(), capsys)
    assert code == 0, err
    rows = summary_rows(out)
    assert [rows[n][1:3] for n in names] == [
        ["completed", "0"],
        ["completed", "0"],
        ["completed", "60"],
    ]
    assert err == ""
    for name, emu in zip(names, fleet.emulators, strict=True):
        ids = stored_ids(dsn, name)
        assert max(ids.values()) == 1 and set(ids) == set(store_ids(emu, "sendcloud"))

    code, out, err = run_main(["fleet", "status", "--to", dsn], {}, capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["store", "last", "run"]
    status = {line.split()[0]: line for line in lines[1:]}
    assert set(status) == set(names)
    assert " completed " in status[names[2]] and " 60 " in status[names[2]]
    assert " d" in status[names[0]]  # the emulators' logs end on 2024-06-01: days behind


def test_usage_errors(
    fleet: EmulatorFleet, dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = stores_file(tmp_path, fleet)
    code, _, err = run_main(
        ["fleet", "run", path, "--to", f"duckdb://{tmp_path}/x.duckdb"], {}, capsys
    )
    assert code == EXIT_USAGE and "one writer at a time" in err and "Traceback" not in err
    missing = tmp_path / "nope.toml"
    code, _, err = run_main(["fleet", "run", str(missing), "--to", dsn], {}, capsys)
    assert code == EXIT_USAGE and "nope.toml" in err
    code, _, err = run_main(["fleet", "status", "--to", dsn], {}, capsys)
    assert code == 0 and "no fleet run has been recorded" in err
    code, _, err = run_main(["fleet", "run", "--help"], {}, capsys)
    assert code == 0


async def test_sigterm_stops_every_store_and_a_rerun_completes_them(
    dsn: str, tmp_path: Path
) -> None:
    async with EmulatorFleet(2, config=SMALL, logs=[10, 3000], latency=0.03) as emulators:
        path = stores_file(tmp_path, emulators, page_size=10)
        env = {**cli_env(), **emulators.env()}
        first = emulators.names[0]

        async def first_store_done(proc: asyncio.subprocess.Process) -> None:
            assert proc.stderr is not None
            while line := await proc.stderr.readline():
                if line.startswith(f"{first}: completed".encode()):
                    return
            raise AssertionError("the quick store never finished")

        command = cli_command("fleet", "run", path, "--to", dsn)
        code, err = await signal_when(command, env, signal.SIGTERM, first_store_done)
        text = err.decode()
        assert code == EXIT_TERMINATED, text
        assert "terminated (SIGTERM); 1 of 2 store(s) had finished" in text
        assert "rerun the same command" in text and PASSWORD not in text
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        rows = summary_rows(out.decode())
        assert rows[first][1:3] == ["completed", "0"]
        for name, emu in zip(emulators.names, emulators.emulators, strict=True):
            stored = await read_store(dsn, "sendcloud", name)
            ids = Counter(log.id for log in stored.logs)
            assert max(ids.values()) == 1 and set(ids) == set(store_ids(emu, "sendcloud"))
