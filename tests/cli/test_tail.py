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
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from integration_logs_async.cli import build_parser
from integration_logs_async.cli._tail import tail_command
from integration_logs_async.emulator import Emulator
from integration_logs_async.records import NormalizedLog

from .._support.cli import run_main
from .._support.emulators import ThreadedEmulator
from ._helpers import basic_only
from ._tail_helpers import PROVIDERS, add_now, cmd, ids, integrations, now, provider_of, run

# --- lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", PROVIDERS)
def test_json_and_text_lines_for_each_provider(
    flavour: str, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = provider_of(flavour)
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        owner = integrations(emu, provider)[0]
        added = add_now(emu, provider, 3, owner, status_code=503, error="boom\nsecond line")
        code, out, err = run(emu, [*cmd(flavour), "--since", "1h", "--once"], capsys)
        assert code == 0, err
        assert ids(out) == added  # not a TTY: JSON Lines by default; oldest first
        for line in out.splitlines():
            data = json.loads(line)
            assert set(data) == set(NormalizedLog.__struct_fields__)
            assert (data["provider"], data["status_code"]) == (provider, 503)
            assert data["integration_id"] == owner and data["error"] == "boom\nsecond line"

        code, out, err = run(
            emu, [*cmd(flavour), "--since", "1h", "--once", "--format", "text"], capsys
        )
        assert code == 0, err
        lines = out.splitlines()
        assert len(lines) == 3 and "\x1b" not in out  # not a terminal: no colour
        for line in lines:
            when, integration, status, *_ = line.split()
            assert datetime.fromisoformat(when) >= now() - timedelta(hours=1)
            assert (integration, status) == (owner, "503")
            assert line.endswith("boom second line") and len(line) <= 200


def test_colour_on_a_terminal_unless_no_color_and_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with ThreadedEmulator(integrations=1, logs=5) as emu:
        add_now(emu, "sendcloud", 1, status_code=502)
        add_now(emu, "sendcloud", 1, status_code=404)
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

        code, out, err = run(emu, [*argv, "--format", "text", "--color", "always"], capsys)
        assert code == 0 and "\x1b[31m502" in out, err
        code, out, err = run(emu, [*argv, "--format", "text", "--color", "never"], capsys)
        assert code == 0 and "\x1b" not in out and " 502 " in out, err


# --- --since, filters ---------------------------------------------------------------------------


def test_since_forms_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        old = add_now(emu, "elasticpath", 2, created_at=now() - timedelta(hours=3))
        new = add_now(emu, "elasticpath", 2)
        for since in ("2h", "90m", (now() - timedelta(hours=2)).isoformat()):
            code, out, err = run(emu, ["tail", "elasticpath", "--since", since, "--once"], capsys)
            assert code == 0, err
            assert ids(out) == new
        code, out, _ = run(emu, ["tail", "elasticpath", "--since", "4h", "--once"], capsys)
        assert ids(out) == old + new
        for bad in ("yesterday", "2024-05-01T00:00:00"):
            code, out, err = run(emu, ["tail", "elasticpath", "--since", bad, "--once"], capsys)
            assert code == 2 and out == ""
            assert "argument --since:" in err and ("neither a duration" in err or "timezone" in err)


@pytest.mark.parametrize("flavour", PROVIDERS)
def test_status_failed_only_and_integration_filters(
    flavour: str, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = provider_of(flavour)
    with ThreadedEmulator(integrations=2, logs=5) as emu:
        a, b = integrations(emu, provider)[:2]
        a503 = add_now(emu, provider, 2, a, status_code=503)
        a429 = add_now(emu, provider, 1, a, status_code=429)
        a200 = add_now(emu, provider, 1, a, status_code=200, failed=False)
        anone = add_now(emu, provider, 1, a, status_code=None) if provider == "sendcloud" else []
        b502 = add_now(emu, provider, 1, b, status_code=502)
        base = [*cmd(flavour), "--since", "1h", "--once"]

        def shown(*flags: str) -> set[str]:
            code, out, err = run(emu, [*base, *flags], capsys)
            assert code == 0, err
            return set(ids(out))

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

        code, _, err = run(emu, [*base, "--status", "5xx", "teapot"], capsys)
        assert code == 2
        assert "argument --status: 'teapot' is not an HTTP status" in err


# --- --state, --once, --max-logs ------------------------------------------------------------


@pytest.mark.parametrize("flavour", PROVIDERS)
def test_state_resumes_across_runs_exactly_once(
    flavour: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = provider_of(flavour)
    state = tmp_path / "tail.state"
    argv = [*cmd(flavour), "--state", str(state), "--once"]
    with ThreadedEmulator(integrations=2, logs=10) as emu:
        code, out, err = run(emu, argv, capsys)  # no --since: starts now, prints nothing
        assert (code, out) == (0, ""), err
        saved = json.loads(state.read_text())  # written after the first poll all the same
        assert (
            saved["kind"] == "integration-logs tail" and saved["provider"] == "sendcloud"
            if provider == "sendcloud"
            else True
        )
        first = add_now(emu, provider, 3)
        code, out, err = run(emu, argv, capsys)
        assert code == 0 and ids(out) == first, err
        second = add_now(emu, provider, 2)
        third = add_now(emu, provider, 1, status_code=500)
        code, out, err = run(emu, [*argv, "--since", "1d"], capsys)  # the state wins
        assert code == 0 and ids(out) == second + third, err
        assert "--since ignored: resuming from --state" in err
        code, out, err = run(emu, argv, capsys)
        assert (code, out) == (0, ""), err
    assert not [p for p in tmp_path.iterdir() if p.name != "tail.state"]  # no temp files left


def test_max_logs_stops_after_n_and_the_state_resumes_after_the_last_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s.json"
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        added = add_now(emu, "sendcloud", 5, status_code=500)
        argv = ["tail", "sendcloud", "--state", str(state)]
        code, out, err = run(emu, [*argv, "--since", "1h", "--max-logs", "2"], capsys)
        assert code == 0 and ids(out) == added[:2], err
        code, out, err = run(emu, [*argv, "--max-logs", "1"], capsys)
        assert code == 0 and ids(out) == added[2:3], err
        code, out, err = run(emu, [*argv, "--once"], capsys)
        assert code == 0 and ids(out) == added[3:], err


def test_once_without_since_or_state_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedEmulator(integrations=1, logs=5) as emu:
        add_now(emu, "sendcloud", 2)
        code, out, err = run(emu, ["tail", "sendcloud", "--once"], capsys)
        assert (code, out, err) == (0, "", "")


@pytest.mark.emulator(integrations=2, logs=5)
@pytest.mark.parametrize("flavour", PROVIDERS)
async def test_logs_added_while_the_tail_runs_are_printed_once(
    flavour: str, emulator: Emulator
) -> None:
    provider = provider_of(flavour)
    argv = [*cmd(flavour), "--interval", "0.05", "--max-logs", "5", "--format", "json"]
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
        burst = add_now(emulator, provider, 3)
        await until_polled(polls() + 2)
        later = add_now(emulator, provider, 2, status_code=500)
        printed = await run
    assert printed == 5
    assert ids(out.getvalue()) == burst + later


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["tail", "--help"], {}, capsys)
    assert code == 0
    assert "integration-logs tail sendcloud --failed-only --status 5xx" in out
    assert "--since and --state:" in out and "credentials come from the environment" in out


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
            added = add_now(emulator, "sendcloud", 5)
            cut = client.tail(resume_from=first.checkpoint, poll_interval=0.01)
            async with cut:
                got = [b async for b in cut.pages(max_items=2)]  # ends by itself
        assert [[str(log.id) for log in b.items] for b in got] == [added[:2]]
        rest = client.tail(resume_from=got[-1].checkpoint, poll_interval=0.01)
        async with rest:
            more = await anext(rest.pages(idle=True))
        assert [str(log.id) for log in more.items] == added[2:]
