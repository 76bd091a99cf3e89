"""``integration-logs tail`` against the emulator: lines, filters, --since, --state, exits.

Runs end by themselves (``--once``, ``--max-logs``): logs are added before a run (and found
with ``--since``), between runs (``--state``), or while a run polls, once the emulator has
answered its first poll (so they are not part of the tail's starting point).
"""

# ruff: noqa: ASYNC110 - waiting on the emulator's request log and on a file

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async.cli import build_parser
from integration_logs_async.cli._tail import tail_command
from integration_logs_async.emulator import Emulator, FaultConfig, Provider
from integration_logs_async.records import NormalizedLog

from .._support.cli import cli_command, cli_env, error_line, run_cli, run_main
from .._support.emulators import ThreadedEmulator
from ..harvest._helpers import Process, signal_when
from ._helpers import basic_only

PROVIDERS = ["sendcloud", "sendcloud-v3", "elasticpath"]


def _cmd(flavour: str) -> list[str]:
    """``tail PROVIDER`` (and ``--api-version 3`` for Sendcloud v3)."""
    if flavour == "sendcloud-v3":
        return ["tail", "sendcloud", "--api-version", "3"]
    return ["tail", flavour]


def _provider(flavour: str) -> str:
    return "sendcloud" if flavour.startswith("sendcloud") else "elasticpath"


def _integrations(emu: Emulator, provider: str) -> list[str]:
    if provider == "sendcloud":
        return [str(json.loads(i.json)["id"]) for i in emu.store.sendcloud.integrations]
    return [str(i.obj["id"]) for i in emu.store.elasticpath.integrations]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _add(
    emu: Emulator, provider: str, count: int, owner: str | None = None, **fields: Any
) -> list[str]:
    """Logs created now (the store's own are from 2024): found by ``--since 1h``."""
    fields.setdefault("created_at", _now())
    which: Provider = "sendcloud" if provider == "sendcloud" else "elasticpath"
    return [str(i) for i in emu.add_logs(which, count, owner, **fields)]


def _ids(out: str) -> list[str]:
    return [json.loads(line)["id"] for line in out.splitlines()]


def _run(
    emu: Emulator, argv: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    return run_main([*argv, "--interval", "0.05", "--rate-limit", "0"], basic_only(emu), capsys)


# --- lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", PROVIDERS)
def test_json_and_text_lines_for_each_provider(
    flavour: str, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = _provider(flavour)
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        owner = _integrations(emu, provider)[0]
        added = _add(emu, provider, 3, owner, status_code=503, error="boom\nsecond line")
        code, out, err = _run(emu, [*_cmd(flavour), "--since", "1h", "--once"], capsys)
        assert code == 0, err
        assert _ids(out) == added  # not a TTY: JSON Lines by default; oldest first
        for line in out.splitlines():
            data = json.loads(line)
            assert set(data) == set(NormalizedLog.__struct_fields__)
            assert (data["provider"], data["status_code"]) == (provider, 503)
            assert data["integration_id"] == owner and data["error"] == "boom\nsecond line"

        code, out, err = _run(
            emu, [*_cmd(flavour), "--since", "1h", "--once", "--format", "text"], capsys
        )
        assert code == 0, err
        lines = out.splitlines()
        assert len(lines) == 3 and "\x1b" not in out  # not a terminal: no colour
        for line in lines:
            when, integration, status, *_ = line.split()
            assert datetime.fromisoformat(when) >= _now() - timedelta(hours=1)
            assert (integration, status) == (owner, "503")
            assert line.endswith("boom second line") and len(line) <= 200


def test_colour_on_a_terminal_unless_no_color_and_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with ThreadedEmulator(integrations=1, logs=5) as emu:
        _add(emu, "sendcloud", 1, status_code=502)
        _add(emu, "sendcloud", 1, status_code=404)
        argv = ["tail", "sendcloud", "--since", "1h", "--once"]

        def on_terminal(env_extra: dict[str, str]) -> str:
            args = build_parser().parse_args(argv)
            out = Terminal()
            asyncio.run(tail_command(args, {**basic_only(emu), **env_extra}, out=out))
            return out.getvalue()

        coloured = on_terminal({})
        assert "\x1b[31m502\x1b[0m" in coloured and "\x1b[33m404\x1b[0m" in coloured
        plain = on_terminal({"NO_COLOR": "1"})
        assert "\x1b" not in plain and len(plain.splitlines()) == 2  # text all the same
        assert "{" not in plain

        code, out, err = _run(emu, [*argv, "--format", "text", "--color", "always"], capsys)
        assert code == 0 and "\x1b[31m502" in out, err
        code, out, err = _run(emu, [*argv, "--format", "text", "--color", "never"], capsys)
        assert code == 0 and "\x1b" not in out and " 502 " in out, err


# --- --since, filters ---------------------------------------------------------------------------


def test_since_forms_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        old = _add(emu, "elasticpath", 2, created_at=_now() - timedelta(hours=3))
        new = _add(emu, "elasticpath", 2)
        for since in ("2h", "90m", (_now() - timedelta(hours=2)).isoformat()):
            code, out, err = _run(emu, ["tail", "elasticpath", "--since", since, "--once"], capsys)
            assert code == 0, err
            assert _ids(out) == new
        code, out, _ = _run(emu, ["tail", "elasticpath", "--since", "4h", "--once"], capsys)
        assert _ids(out) == old + new
        for bad in ("yesterday", "2024-05-01T00:00:00"):
            code, out, err = _run(emu, ["tail", "elasticpath", "--since", bad, "--once"], capsys)
            assert code == 2 and out == ""
            assert "argument --since:" in err and ("neither a duration" in err or "timezone" in err)


@pytest.mark.parametrize("flavour", PROVIDERS)
def test_status_failed_only_and_integration_filters(
    flavour: str, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = _provider(flavour)
    with ThreadedEmulator(integrations=2, logs=5) as emu:
        a, b = _integrations(emu, provider)[:2]
        a503 = _add(emu, provider, 2, a, status_code=503)
        a429 = _add(emu, provider, 1, a, status_code=429)
        a200 = _add(emu, provider, 1, a, status_code=200, failed=False)
        anone = _add(emu, provider, 1, a, status_code=None) if provider == "sendcloud" else []
        b502 = _add(emu, provider, 1, b, status_code=502)
        base = [*_cmd(flavour), "--since", "1h", "--once"]

        def shown(*flags: str) -> set[str]:
            code, out, err = _run(emu, [*base, *flags], capsys)
            assert code == 0, err
            return set(_ids(out))

        assert shown("--status", "5xx") == {*a503, *b502}
        assert shown("--status", "5xx", "429") == {*a503, *a429, *b502}
        assert shown("--status", "5xx", "--status", "429") == {*a503, *a429, *b502}
        assert shown("--status", "503") == set(a503)
        failed = {*a503, *a429, *anone, *b502}
        if provider == "sendcloud":  # it logs failures only: its logs are all failed
            failed |= set(a200)
        assert shown("--failed-only") == failed
        assert shown("--failed-only", "--status", "4xx") == set(a429)
        if anone:
            assert shown("--status", "none") == set(anone)
        emu.reset_stats()
        assert shown("--integration", a) == {*a503, *a429, *a200, *anone}
        assert all(f"/{a}/" in r.path for r in emu.requests if "logs" in r.path)  # its own
        both = shown("--integration", a, "--integration", b, "--status", "5xx")
        assert both == {*a503, *b502}

        code, _, err = _run(emu, [*base, "--status", "5xx", "teapot"], capsys)
        assert code == 2
        assert "argument --status: 'teapot' is not an HTTP status" in err


# --- --state, --once, --max-logs ------------------------------------------------------------


@pytest.mark.parametrize("flavour", PROVIDERS)
def test_state_resumes_across_runs_exactly_once(
    flavour: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = _provider(flavour)
    state = tmp_path / "tail.state"
    argv = [*_cmd(flavour), "--state", str(state), "--once"]
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        code, out, err = _run(emu, argv, capsys)  # no --since: starts now, prints nothing
        assert (code, out) == (0, ""), err
        saved = json.loads(state.read_text())  # written after the first poll all the same
        assert (
            saved["kind"] == "integration-logs tail" and saved["provider"] == "sendcloud"
            if provider == "sendcloud"
            else True
        )
        first = _add(emu, provider, 3)
        code, out, err = _run(emu, argv, capsys)
        assert code == 0 and _ids(out) == first, err
        second = _add(emu, provider, 2)
        third = _add(emu, provider, 1, status_code=500)
        code, out, err = _run(emu, [*argv, "--since", "1d"], capsys)  # the state wins
        assert code == 0 and _ids(out) == second + third, err
        assert "--since ignored: resuming from --state" in err
        code, out, err = _run(emu, argv, capsys)
        assert (code, out) == (0, ""), err
    assert not [p for p in tmp_path.iterdir() if p.name != "tail.state"]  # no temp files left


def test_max_logs_stops_after_n_and_the_state_resumes_after_the_last_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s.json"
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        added = _add(emu, "sendcloud", 5, status_code=500)
        argv = ["tail", "sendcloud", "--state", str(state)]
        code, out, err = _run(emu, [*argv, "--since", "1h", "--max-logs", "2"], capsys)
        assert code == 0 and _ids(out) == added[:2], err
        code, out, err = _run(emu, [*argv, "--max-logs", "1"], capsys)
        assert code == 0 and _ids(out) == added[2:3], err
        code, out, err = _run(emu, [*argv, "--once"], capsys)
        assert code == 0 and _ids(out) == added[3:], err


def test_once_without_since_or_state_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        _add(emu, "sendcloud", 2)
        code, out, err = _run(emu, ["tail", "sendcloud", "--once"], capsys)
        assert (code, out, err) == (0, "", "")


@pytest.mark.emulator(integrations=2, logs=5)
@pytest.mark.parametrize("flavour", PROVIDERS)
async def test_logs_added_while_the_tail_runs_are_printed_once(
    flavour: str, emulator: Emulator
) -> None:
    provider = _provider(flavour)
    argv = [*_cmd(flavour), "--interval", "0.05", "--max-logs", "5", "--format", "json"]
    args = build_parser().parse_args(argv)
    out = io.StringIO()
    env = basic_only(emulator)

    def polls() -> int:
        return sum(1 for r in emulator.requests if r.path.endswith("/logs"))

    async def until_polled(count: int) -> None:
        while polls() < count:
            await asyncio.sleep(0.01)

    async with asyncio.timeout(30):
        run = asyncio.create_task(tail_command(args, env, out=out))
        await until_polled(2)  # the first poll (the starting point) is answered
        burst = _add(emulator, provider, 3)
        await until_polled(polls() + 2)
        later = _add(emulator, provider, 2, status_code=500)
        printed = await run
    assert printed == 5
    assert _ids(out.getvalue()) == burst + later


# --- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"not json at all\n", b'{"kind": "harvest"}', b""])
def test_a_file_that_is_not_a_tail_state_is_refused_untouched(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "precious.json"
    state.write_bytes(content)
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        code, out, err = _run(emu, ["tail", "sendcloud", "--state", str(state), "--once"], capsys)
    assert code == 2 and out == ""
    line = error_line(err)
    assert f"--state {state} is not a tail state file; nothing was changed" in line
    assert state.read_bytes() == content


def test_a_state_file_in_a_missing_directory_is_refused_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "nowhere" / "tail.state"
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        code, out, err = _run(emu, ["tail", "sendcloud", "--state", str(state)], capsys)
        assert not emu.requests
    assert code == 2 and out == ""
    line = error_line(err)
    assert f"directory {state.parent} does not exist; create it" in line


def test_a_page_size_over_the_providers_maximum_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        code, out, err = _run(emu, ["tail", "elasticpath", "--page-size", "100000"], capsys)
        assert not emu.requests
    assert code == 2 and out == ""
    assert error_line(err).endswith("--page-size must be an integer from 1 to 100, got 100000")


def test_another_tails_state_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "tail.state"
    with ThreadedEmulator(integrations=2, logs=5) as emu:
        code, _, err = _run(emu, ["tail", "sendcloud", "--state", str(state), "--once"], capsys)
        assert code == 0, err
        content = state.read_bytes()
        owner = _integrations(emu, "sendcloud")[0]
        for other in (
            ["tail", "elasticpath"],
            ["tail", "sendcloud", "--api-version", "3"],
            ["tail", "sendcloud", "--integration", owner],
        ):
            code, out, err = _run(emu, [*other, "--state", str(state), "--once"], capsys)
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
    added = _add(emulator, "sendcloud", 2, error="line one\nline two")
    argv = ["tail", "sendcloud", "--since", "1h", "--max-logs", "2", "--max-attempts", "1"]
    rc, out, err = await run_cli([*argv, "--interval", "0.05"], cli_env(emulator))
    assert rc == 0 and _ids(out.decode()) == added, err
    [warning] = [line for line in err.splitlines() if "poll failed" in line]
    assert warning.startswith(
        "WARNING integration_logs_async: tail of Sendcloud /integrations/logs: poll failed ("
    )
    assert "HTTP 500" in warning and "trying again in" in warning
    assert "The provider failed.)" in warning and "rerun" not in warning  # it tries again
    assert "Traceback" not in err and len(err.splitlines()) == 2  # and the credentials note


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["tail", "--help"], {}, capsys)
    assert code == 0
    assert "integration-logs tail sendcloud --failed-only --status 5xx" in out
    assert "--since and --state:" in out and "credentials come from the environment" in out


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


# --- the engine's pages(idle=, max_items=) the command is built on ---------------------------


@pytest.mark.emulator(integrations=1, logs=5)
async def test_pages_idle_batches_and_max_items_resume_exactly(emulator: Emulator) -> None:
    async with emulator.sendcloud_client(rate_limit=0) as client:
        tail = client.tail(poll_interval=0.01)
        with pytest.raises(ValueError, match="max_items must be an integer >= 1"):
            tail.pages(max_items=0)
        async with tail:
            batches = tail.pages(idle=True)
            first = await anext(batches)  # the starting point: nothing, but a checkpoint
            assert first.items == [] and first.checkpoint == tail.checkpoint
            added = _add(emulator, "sendcloud", 5)
            cut = client.tail(resume_from=first.checkpoint, poll_interval=0.01)
            async with cut:
                got = [b async for b in cut.pages(max_items=2)]  # ends by itself
        assert [[str(log.id) for log in b.items] for b in got] == [added[:2]]
        rest = client.tail(resume_from=got[-1].checkpoint, poll_interval=0.01)
        async with rest:
            more = await anext(rest.pages(idle=True))
        assert [str(log.id) for log in more.items] == added[2:]


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
    _add(emulator, "elasticpath", 600)  # far more output than a pipe holds
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
