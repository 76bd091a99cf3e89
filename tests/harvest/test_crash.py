# ruff: noqa: ASYNC109, ASYNC240 - small local files; timeouts of whole subprocess runs
"""Crash safety: kill -9 a harvest subprocess at random moments, rerun until it completes.

Whatever the moment of the kill, the final output holds every record of the store exactly
once, byte for byte, and the state file is valid JSON after every kill.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from integration_logs_async.emulator import Emulator, EmulatorConfig, FaultConfig, Store
from integration_logs_async.harvest import load_state

from .._support.cli import cli_command, cli_env
from .._support.store import store_records
from ._helpers import assert_exactly_once, read_lines, signal_at_progress

SLOW = FaultConfig(
    seed=4, rates={"latency": 1.0}, latency_seconds=0.04, latency_jitter_seconds=0.04
)
"""40-80 ms a request: a harvest of ~1,000 logs takes about a second."""

SLOW_DISK = str(Path(__file__).with_name("_slow_disk.py"))
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("integration-logs"))


@dataclass
class Outcome:
    """What happened across the attempts of one harvest."""

    kills: int = 0
    attempts: int = 0
    resumed_from_state: int = 0
    kill_points: list[str] = field(default_factory=list)
    last_run_seconds: float = 0.0  # the attempt that completed, process start to exit


def check_state(out: Path) -> bool:
    """After a kill: the state file is absent or valid JSON consistent with the output."""
    path = Path(str(out) + ".state.json")
    if not path.exists():
        return False
    json.loads(path.read_bytes())  # valid JSON, never half written
    state = load_state(path)
    assert state is not None
    assert state.out_bytes <= out.stat().st_size
    data = out.read_bytes()[: state.out_bytes]
    assert not data or data.endswith(b"\n")  # the recorded size ends on a whole line
    return True


async def harvest_with_kills(
    command: list[str],
    env: dict[str, str],
    out: Path,
    rng: random.Random,
    *,
    kill_after: tuple[float, float],
    max_kills: int,
    kill_on_marker: list[tuple[str, int]] | None = None,
    timeout: float = 30.0,
) -> Outcome:
    """Run ``command`` until it completes, kill -9 it up to ``max_kills`` times first.

    Kills happen after a random delay from ``kill_after`` or, with ``kill_on_marker`` (and the
    ``_slow_disk.py`` driver), at the n-th time a step of saving the state is reached (one
    (step, n) per attempt, in order).
    """
    outcome = Outcome()
    markers = list(kill_on_marker or [])
    while True:
        outcome.attempts += 1
        started = time.monotonic()
        killing = outcome.kills < max_kills
        step = f"{markers[0][0]}:{markers[0][1]}" if killing and markers else ":0"
        proc = await asyncio.create_subprocess_exec(
            *command,
            env={**env, "SLOW_DISK_KILL_AT": step},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None
        stderr: list[bytes] = []
        try:
            if killing and markers:
                wanted = f"@@{markers[0][0]}\n".encode()
                async with asyncio.timeout(timeout):
                    while line := await proc.stderr.readline():
                        stderr.append(line)
                        if line == wanted:
                            proc.kill()  # SIGKILL, while it waits inside the window
                            outcome.kill_points.append(step.replace(":", " #"))
                            markers.pop(0)
                            break
            elif killing:
                # The delay runs from the harvest's first output, not from process start, so
                # where the kill lands does not depend on how long start-up takes on a busy
                # machine. (A kill before the first state save is covered by the markers.)
                await _first_output(proc, out, timeout)
                delay = rng.uniform(*kill_after)
                reader = asyncio.ensure_future(proc.stderr.read())
                done, _ = await asyncio.wait({reader}, timeout=delay)
                if not done:
                    proc.kill()
                    outcome.kill_points.append(f"{delay:.2f}s")
                stderr.append(await reader)
            stderr.append(await asyncio.wait_for(proc.stderr.read(), timeout))
            rc = await asyncio.wait_for(proc.wait(), timeout)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        text = b"".join(stderr).decode(errors="replace")
        if rc == -9:
            outcome.kills += 1
            outcome.resumed_from_state += check_state(out)
            continue
        assert rc == 0, text
        assert "[complete]" in text, text
        outcome.last_run_seconds = round(time.monotonic() - started, 2)
        return outcome


async def _first_output(proc: asyncio.subprocess.Process, out: Path, timeout: float) -> None:
    """Wait until ``out`` holds bytes this attempt wrote (or the process has exited)."""
    before = out.stat().st_size if out.exists() else 0
    async with asyncio.timeout(timeout):
        while proc.returncode is None:
            if out.exists() and out.stat().st_size > before:
                return
            await asyncio.sleep(0.005)


async def rounds(
    emu_env: dict[str, str],
    expected: dict[str, bytes],
    tmp_path: Path,
    base: list[str],
    *,
    seeds: list[int],
    kill_after: tuple[float, float],
    max_kills: int = 3,
) -> list[Outcome]:
    """One harvest per seed into a fresh file, each killed at random moments."""
    outcomes = []
    for seed in seeds:
        out = tmp_path / f"round-{seed}.jsonl"
        command = [*base[:1], *base[1:], "--out", str(out)]
        outcome = await harvest_with_kills(
            command, emu_env, out, random.Random(seed), kill_after=kill_after, max_kills=max_kills
        )
        assert_exactly_once(out, expected)
        assert not list(tmp_path.glob(f".{out.name}.state.json.*.tmp")), "stale temp state files"
        outcomes.append(outcome)
    return outcomes


@pytest.mark.emulator(integrations=4, jobs_per_integration=3, logs=1000, faults=SLOW)
async def test_kill9_elasticpath_by_job_then_incremental(
    emulator: Emulator, tmp_path: Path
) -> None:
    env = cli_env(emulator)
    base = [
        *cli_command("harvest", "elasticpath"),
        "--scope",
        "jobs",
        "--concurrency",
        "4",
        "--page-size",
        "20",
        "--save-every",
        "40",
        "--rate-limit",
        "1000",
        "--quiet",
    ]
    expected = store_records(emulator, "elasticpath")
    outcomes = await rounds(env, expected, tmp_path, base, seeds=[1], kill_after=(0.15, 0.6))
    assert all(o.kills >= 1 for o in outcomes)
    assert sum(o.resumed_from_state for o in outcomes) >= 1, outcomes  # resumed mid-harvest

    # kill the incremental run that follows new logs
    out = tmp_path / "round-1.jsonl"
    for ident in emulator.store.elasticpath_integration_ids:
        emulator.add_logs("elasticpath", 30, ident)
    outcome = await harvest_with_kills(
        [*base, "--out", str(out)], env, out, random.Random(3), kill_after=(0.05, 0.35), max_kills=2
    )
    assert_exactly_once(out, store_records(emulator, "elasticpath"))
    print("kill -9 rounds (elasticpath jobs):", outcomes, outcome)


async def test_kill9_sendcloud_against_an_emulator_process(tmp_path: Path) -> None:
    """The emulator in its own process; the console script; kills at random moments."""
    config = EmulatorConfig(seed=9, integrations=5, logs=1000)
    emulator = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "integration_logs_async.emulator",
        "--port",
        "0",
        "--seed",
        "9",
        "--integrations",
        "5",
        "--logs",
        "1000",
        "--fault",
        "latency=1.0",
        "--fault",
        "latency_seconds=0.05",
        "--fault",
        "latency_jitter_seconds=0.04",
        env=cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert emulator.stdout is not None
        info = json.loads(await asyncio.wait_for(emulator.stdout.readline(), 20))
        assert info["url"].startswith("http://127.0.0.1:")
        view = Store(config).sendcloud_logs  # same seed: byte-identical records
        expected = {str(i): raw for i, raw in zip(view.ids(), view, strict=True)}
        base = [
            CONSOLE_SCRIPT,
            "harvest",
            "sendcloud",
            "--scope",
            "integrations",
            "--concurrency",
            "3",
            "--page-size",
            "25",
            "--save-every",
            "30",
            "--rate-limit",
            "1000",
            "--quiet",
        ]
        outcomes = await rounds(
            cli_env(**info["env"]),
            expected,
            tmp_path,
            base,
            seeds=[11, 12],
            kill_after=(0.05, 0.6),
            max_kills=2,
        )
        assert all(o.kills >= 1 for o in outcomes)
        print("kill -9 rounds (sendcloud, emulator process):", outcomes)
    finally:
        if emulator.returncode is None:
            emulator.terminate()
            try:
                await asyncio.wait_for(emulator.wait(), 5)
            except TimeoutError:
                emulator.kill()
                await emulator.wait()


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=600)
async def test_kill9_inside_the_state_file_write_window(emulator: Emulator, tmp_path: Path) -> None:
    """Kill exactly between fsync(output) and the state, before and after its rename."""
    out = tmp_path / "window.jsonl"
    command = [
        sys.executable,
        SLOW_DISK,
        "harvest",
        "elasticpath",
        "--scope",
        "all",
        "--page-size",
        "25",
        "--save-every",
        "1",
        "--rate-limit",
        "1000",
        "--quiet",
        "--out",
        str(out),
    ]
    rng = random.Random(0)
    kinds = ["output-synced", "temp-synced", "renamed"] * 2
    windows = [(kind, rng.randint(1, 5)) for kind in kinds]  # at the n-th save of the run
    outcome = await harvest_with_kills(
        command,
        cli_env(emulator),
        out,
        rng,
        kill_after=(0, 0),
        max_kills=len(windows),
        kill_on_marker=windows,
    )
    assert outcome.kill_points == [f"{k} #{n}" for k, n in windows]
    assert outcome.kills == len(windows)
    assert outcome.resumed_from_state >= len(windows) - 1  # the first kill may precede a state
    assert_exactly_once(out, store_records(emulator, "elasticpath"))
    assert not list(tmp_path.glob("*.tmp")), "stale temp state files"
    assert len(read_lines(out)) == 600
    print("kill -9 in the write window:", outcome)


@pytest.mark.emulator(integrations=3, jobs_per_integration=3, logs=900, faults=SLOW)
async def test_kill9_with_a_save_after_every_page(emulator: Emulator, tmp_path: Path) -> None:
    """Saves as often as possible, so random kills often land while the state is written."""
    base = [
        sys.executable,
        SLOW_DISK,
        "harvest",
        "elasticpath",
        "--scope",
        "jobs",
        "--concurrency",
        "3",
        "--page-size",
        "15",
        "--save-every",
        "1",
        "--rate-limit",
        "1000",
        "--quiet",
    ]
    outcomes = await rounds(
        cli_env(emulator),
        store_records(emulator, "elasticpath"),
        tmp_path,
        base,
        seeds=[21],
        kill_after=(0.05, 0.6),
        max_kills=3,
    )
    assert outcomes[0].kills >= 1
    print("kill -9 with a save after every page:", outcomes)


@pytest.mark.emulator(integrations=4, jobs_per_integration=3, logs=1000, faults=SLOW)
async def test_ctrl_c_saves_progress_exits_130_and_the_rerun_continues(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "int.jsonl"
    command = [*cli_command("harvest", "elasticpath"), "--scope", "jobs", "--out", str(out),
               "--rate-limit", "1000", "--page-size", "20"]  # fmt: skip
    env = cli_env(emulator)
    # interrupt once a few hundred records are in
    rc, err = await signal_at_progress(command, env, signal.SIGINT, records=200)
    assert rc == 130, err
    assert err.decode().strip().splitlines()[-1] == (
        "integration-logs: interrupted; rerun the same command to continue"
    )
    state = load_state(Path(str(out) + ".state.json"))
    assert state is not None and state.in_progress and state.checkpoint
    assert 0 < state.out_bytes == out.stat().st_size  # saved at the last page boundary
    proc = await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0 and "resumed and harvested" in err.decode(), err
    assert_exactly_once(out, store_records(emulator, "elasticpath"))
