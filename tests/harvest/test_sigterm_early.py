"""SIGTERM before the first page: the message says nothing was written (not "progress is saved").

Through the command line in a subprocess, against an emulator slow enough that the signal
lands while the first listing request is still being answered.
"""

# ruff: noqa: ASYNC240 - a small local directory in a test

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from integration_logs_async.cli._harvest import kept_after_stop
from integration_logs_async.emulator import Emulator
from integration_logs_async.harvest import HarvestState

from .._support.cli import cli_command, cli_env
from ._helpers import Process, signal_when

SLOW = {"seed": 1, "rates": {"latency": 1.0}, "latency_seconds": 3.0}


async def _terminate_during_first_request(emulator: Emulator, *args: str) -> tuple[int, str]:
    """Run ``harvest elasticpath ARGS``, SIGTERM it once a data request is in flight."""

    async def first_request_in_flight(proc: Process) -> None:
        # the signal handler is installed before any request
        while emulator.in_flight == 0:
            assert proc.returncode is None
            await asyncio.sleep(0.01)
        assert not [r for r in emulator.requests if r.category == "data"]  # no page answered

    command = cli_command("harvest", "elasticpath", *args)
    rc, err = await signal_when(command, cli_env(emulator), signal.SIGTERM, first_request_in_flight)
    return rc, err.decode()


@pytest.mark.emulator(integrations=1, logs=20, faults=SLOW)
async def test_sigterm_before_the_first_page_says_nothing_was_written(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "early.jsonl"
    rc, err = await _terminate_during_first_request(emulator, "--out", str(out))
    assert rc == 143, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "integration-logs: terminated (SIGTERM); nothing was written yet, no file was changed; "
        "rerun the same command to start"
    )
    assert list(tmp_path.iterdir()) == []  # true: no output, no state file


@pytest.mark.emulator(integrations=1, logs=20, faults=SLOW)
async def test_sigterm_of_a_harvest_to_stdout_says_nothing_is_kept(emulator: Emulator) -> None:
    rc, err = await _terminate_during_first_request(emulator, "--out", "-")
    assert rc == 143, err
    assert err.strip().splitlines()[-1] == (
        "integration-logs: terminated (SIGTERM); --out - keeps no state: a rerun starts over"
    )


def test_what_a_stopped_run_leaves_follows_its_state_file() -> None:
    fresh = HarvestState(fingerprint="f", out="/x.jsonl", in_progress=True)
    assert kept_after_stop("x.jsonl", fresh).startswith("progress is saved")
    assert kept_after_stop("x.jsonl", None).startswith("nothing was written yet")
    fresh.in_progress = False  # the last complete harvest's state, untouched by this run
    assert kept_after_stop("x.jsonl", fresh).startswith("nothing was written yet")
    assert kept_after_stop("-", None).startswith("--out - keeps no state")
