"""The harvest into real sinks (DuckDB, PostgreSQL, Parquet) from the emulator: every log once
with its columns and integrations, incremental reruns, kill -9 then rerun with no local state
file, and a second harvest of the same store refused at once."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async.emulator import Emulator, FaultConfig
from integration_logs_async.harvest import HarvestOptions, HarvestResult, run_harvest
from integration_logs_async.sinks import parse_sink_url

from .._support.cli import cli_command, cli_env, error_line, run_cli
from .._support.clients import client_for
from .._support.postgres import pg_dsn, postgres  # noqa: F401 - fixtures
from .._support.store import store_records
from ._helpers import PROVIDERS, signal_at_progress
from ._sink_reader import StoredLog, read_store

SINKS = ["duckdb", "postgresql", "parquet"]
SLOW = FaultConfig(
    seed=5, rates={"latency": 1.0}, latency_seconds=0.03, latency_jitter_seconds=0.03
)
"""30-60 ms a request: a harvest of a few hundred logs takes a few seconds."""


@pytest.fixture(params=SINKS)
def sink_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh sink of each kind (PostgreSQL: a new database of the session's server)."""
    kind = request.param
    if kind == "postgresql":
        dsn: str = request.getfixturevalue("pg_dsn")
        return dsn
    if kind == "duckdb":
        return f"duckdb://{tmp_path / 'logs.duckdb'}"
    return f"parquet://{tmp_path / 'logs'}"


async def harvest(emu: Emulator, provider: str, url: str, **options: Any) -> HarvestResult:
    opts = HarvestOptions(provider=provider, to=url, **options)
    async with client_for(emu, provider) as client:
        return await run_harvest(client, opts, progress=False)


def check_exactly_once(logs: list[StoredLog], expected: dict[str, bytes]) -> None:
    """Every record of ``expected`` once, its JSON equal to the server's."""
    ids = Counter(log.id for log in logs)
    assert not [i for i, n in ids.items() if n > 1], "duplicated ids"
    assert ids.keys() == expected.keys()
    for log in logs:
        assert json.loads(log.raw) == json.loads(expected[log.id]), log.id


def no_state_files(where: Path) -> None:
    assert not [p for p in where.rglob("*") if "state" in p.name and p.suffix == ".json"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=150)
async def test_full_then_incremental_harvest(
    emulator: Emulator, sink_url: str, provider: str, tmp_path: Path
) -> None:
    result = await harvest(emulator, provider, sink_url, page_size=20, save_every_records=40)
    assert result.complete and result.records == 150 == result.records_in_file
    store = result.store
    assert store is not None
    stored = await read_store(sink_url, provider, store)
    check_exactly_once(stored.logs, store_records(emulator, provider))
    assert all(log.created_at is not None and log.integration_id for log in stored.logs)
    assert all(log.succeeded is not None for log in stored.logs)
    # failures join to shop names
    assert len(stored.integrations) == 3 and all(stored.integrations.values())
    assert {log.integration_id for log in stored.logs} <= stored.integrations.keys()

    emulator.add_logs(provider, 11)  # type: ignore[arg-type]
    again = await harvest(emulator, provider, sink_url, page_size=20)
    assert again.mode == "incremental" and again.records == 11 and again.duplicates == 0
    stored = await read_store(sink_url, provider, store)
    check_exactly_once(stored.logs, store_records(emulator, provider))
    idle = await harvest(emulator, provider, sink_url)  # nothing new: only the state written
    assert idle.mode == "incremental" and idle.records == 0 and idle.complete
    assert idle.records_in_file == 161
    no_state_files(tmp_path)


@pytest.mark.emulator(integrations=4, jobs_per_integration=2, logs=400, faults=SLOW)
async def test_kill9_mid_harvest_then_rerun_exactly_once(
    emulator: Emulator, sink_url: str, tmp_path: Path
) -> None:
    env = cli_env(emulator)
    args = [
        "harvest",
        "elasticpath",
        "--to",
        sink_url,
        "--store",
        "eu",
        "--page-size",
        "10",
        "--save-every",
        "20",
        "--concurrency",
        "2",
        "--rate-limit",
        "1000",
    ]
    kills = 0
    for records in (40, 120):  # killed twice, each time after some batches were committed
        rc, _ = await signal_at_progress(cli_command(*args), env, signal.SIGKILL, records=records)
        if rc != -9:
            break
        kills += 1
    assert kills >= 1
    rc, _, err = await run_cli([*args, "--quiet"], env, cwd=tmp_path)
    assert rc == 0, err
    assert "elasticpath: resumed and harvested " in err and "[complete]" in err
    stored = await read_store(sink_url, "elasticpath", "eu")
    check_exactly_once(stored.logs, store_records(emulator, "elasticpath"))
    no_state_files(tmp_path)


@pytest.mark.emulator(integrations=4, jobs_per_integration=2, logs=300, faults=SLOW)
async def test_a_second_harvest_of_the_store_exits_at_once(
    emulator: Emulator, sink_url: str, tmp_path: Path
) -> None:
    env = cli_env(emulator)
    args = ["harvest", "elasticpath", "--to", sink_url, "--store", "eu", "--page-size", "10"]
    args += ["--save-every", "10", "--rate-limit", "1000", "--concurrency", "1"]
    first = await asyncio.create_subprocess_exec(
        *cli_command(*args, "--progress-interval", "0.05"),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert first.stderr is not None
        async with asyncio.timeout(30):  # until it has committed a batch: it holds the lock
            while line := await first.stderr.readline():
                if line.startswith(b"progress: ") and not line.startswith(b"progress: 0 "):
                    break
        first.send_signal(signal.SIGSTOP)  # frozen mid-harvest, holding the store's lock
        try:
            rc, _, err = await run_cli([*args, "--quiet"], env)
        finally:
            first.send_signal(signal.SIGCONT)
        assert rc == 6, err
        said = error_line(err)
        assert "wait for" in said and parse_sink_url(sink_url).shown in said
        rest = await asyncio.wait_for(first.communicate(), 60)
        assert first.returncode == 0, rest
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    stored = await read_store(sink_url, "elasticpath", "eu")
    check_exactly_once(stored.logs, store_records(emulator, "elasticpath"))


@pytest.mark.emulator(integrations=4, jobs_per_integration=2, logs=300, faults=SLOW)
async def test_sigterm_keeps_the_committed_batches_and_a_rerun_completes(
    emulator: Emulator, sink_url: str
) -> None:
    env = cli_env(emulator)
    args = ["harvest", "elasticpath", "--to", sink_url, "--store", "eu", "--page-size", "10"]
    args += ["--save-every", "20", "--rate-limit", "1000", "--concurrency", "1"]
    rc, err = await signal_at_progress(cli_command(*args), env, signal.SIGTERM, records=30)
    assert rc == 143, err
    shown = parse_sink_url(sink_url).shown
    assert f"every batch committed to {shown} is kept with its state".encode() in err
    assert b"Traceback" not in err
    rc, _, text = await run_cli([*args, "--quiet"], env)
    assert rc == 0 and "resumed and harvested" in text, text
    stored = await read_store(sink_url, "elasticpath", "eu")
    check_exactly_once(stored.logs, store_records(emulator, "elasticpath"))
