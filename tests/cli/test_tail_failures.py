"""``integration-logs tail`` failures and stops: state files refused untouched, refused
credentials, failed polls, SIGTERM, a closed stdout pipe. One line each, the right exit code."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from integration_logs_async.emulator import Emulator, FaultConfig

from .._support.cli import cli_command, cli_env, error_line, run_cli, run_main
from .._support.emulators import ThreadedEmulator
from ..harvest._helpers import Process, signal_when
from ._helpers import basic_only
from ._tail_helpers import add_now, ids, integrations, run

# --- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"not json at all\n", b'{"kind": "harvest"}', b""])
def test_a_file_that_is_not_a_tail_state_is_refused_untouched(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "precious.json"
    state.write_bytes(content)
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        code, out, err = run(emu, ["tail", "sendcloud", "--state", str(state), "--once"], capsys)
    assert code == 2 and out == ""
    line = error_line(err)
    assert f"--state {state} is not a tail state file; nothing was changed" in line
    assert state.read_bytes() == content


def test_a_state_file_in_a_missing_directory_is_refused_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "nowhere" / "tail.state"
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        code, out, err = run(emu, ["tail", "sendcloud", "--state", str(state)], capsys)
        assert not emu.requests
    assert code == 2 and out == ""
    line = error_line(err)
    assert f"directory {state.parent} does not exist; create it" in line


def test_a_page_size_over_the_providers_maximum_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        code, out, err = run(emu, ["tail", "elasticpath", "--page-size", "100000"], capsys)
        assert not emu.requests
    assert code == 2 and out == ""
    assert error_line(err).endswith("--page-size must be an integer from 1 to 100, got 100000")


def test_another_tails_state_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "tail.state"
    with ThreadedEmulator(integrations=2, logs=5) as emu:
        code, _, err = run(emu, ["tail", "sendcloud", "--state", str(state), "--once"], capsys)
        assert code == 0, err
        content = state.read_bytes()
        owner = integrations(emu, "sendcloud")[0]
        for other in (
            ["tail", "elasticpath"],
            ["tail", "sendcloud", "--api-version", "3"],
            ["tail", "sendcloud", "--integration", owner],
        ):
            code, out, err = run(emu, [*other, "--state", str(state), "--once"], capsys)
            assert code == 2 and out == ""
            line = error_line(err)
            assert (
                f"--state {state} is the tail state of sendcloud API v2 /integrations/logs" in line
            )
            assert "nothing was changed" in line
            assert state.read_bytes() == content


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
def test_refused_credentials_end_with_one_line_and_exit_3(
    provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s.json"
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        env = basic_only(emu)
        secret = "SENDCLOUD_SECRET_KEY" if provider == "sendcloud" else "EPCC_CLIENT_SECRET"
        env[secret] = "wrong-secret"
        argv = ["tail", provider, "--state", str(state), "--interval", "0.05"]
        code, out, err = run_main(argv, env, capsys)
    assert code == 3 and out == ""
    line = error_line(err)
    assert "HTTP 401" in line and "wrong-secret" not in err
    assert not state.exists()  # no poll ended: nothing to save


@pytest.mark.emulator(integrations=1, logs=5, faults=FaultConfig(schedule={1: "server_error"}))
async def test_a_failed_poll_is_one_warning_line_and_the_tail_goes_on(
    emulator: Emulator,
) -> None:
    added = add_now(emulator, "sendcloud", 2, error="line one\nline two")
    argv = ["tail", "sendcloud", "--since", "1h", "--max-logs", "2", "--max-attempts", "1"]
    rc, out, err = await run_cli([*argv, "--interval", "0.05"], cli_env(emulator))
    assert rc == 0 and ids(out.decode()) == added, err
    [warning] = [line for line in err.splitlines() if "poll failed" in line]
    assert warning.startswith(
        "WARNING integration_logs_async: tail of Sendcloud /integrations/logs: poll failed ("
    )
    assert "HTTP 500" in warning and "trying again in" in warning
    assert "The provider failed.)" in warning and "rerun" not in warning  # it tries again
    assert "Traceback" not in err and len(err.splitlines()) == 2  # and the credentials note


@pytest.mark.emulator(integrations=1, logs=5)
async def test_sigterm_exits_143_with_the_state_saved(emulator: Emulator, tmp_path: Path) -> None:
    state = tmp_path / "tail.state"

    async def state_saved(proc: Process) -> None:
        while not state.exists():
            assert proc.returncode is None
            await asyncio.sleep(0.01)

    command = cli_command("tail", "sendcloud", "--state", str(state), "--interval", "0.05")
    rc, err = await signal_when(command, cli_env(emulator), signal.SIGTERM, state_saved)
    text = err.decode()
    assert rc == 143, text
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1] == (
        f"integration-logs: terminated (SIGTERM); {state} holds the position after the last "
        "log printed; rerun to continue"
    )
    assert json.loads(state.read_text())["kind"] == "integration-logs tail"


def _first_line_then_close(read_end: int) -> bytes:
    """Read up to the first newline from ``read_end``, then close it (like ``head -1``)."""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        line = b""
        while not line.endswith(b"\n"):
            chunk = pipe.read(1)
            assert chunk, "the output ended before its first line"
            line += chunk
    return line


@pytest.mark.emulator(integrations=1, logs=5)
async def test_a_closed_stdout_pipe_stops_the_tail_quietly_with_141(
    emulator: Emulator, tmp_path: Path
) -> None:
    add_now(emulator, "elasticpath", 600)  # far more output than a pipe holds
    state = tmp_path / "tail.state"
    read_end, write_end = os.pipe()
    argv = ["tail", "elasticpath", "--since", "1h", "--state", str(state), "--interval", "0.05"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *cli_command(*argv),
            env=cli_env(emulator),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
        )
    finally:
        os.close(write_end)  # the child holds the only write end now
    try:
        line = await asyncio.wait_for(asyncio.to_thread(_first_line_then_close, read_end), 20)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert json.loads(line)["provider"] == "elasticpath"
    assert proc.returncode == 141, err.decode()
    assert err == b""  # quiet
    assert not state.exists()  # the batch was not all written: its position is not saved
