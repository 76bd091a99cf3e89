"""``integration-logs harvest ... --follow [--interval S] [--lookback S]``: usage errors, and
a follow in a subprocess stopped by SIGTERM, Ctrl-C (SIGINT) and kill -9, then rerun."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from integration_logs_async.cli import EXIT_USAGE
from integration_logs_async.emulator import Emulator, Provider
from integration_logs_async.harvest import load_state

from .._support.cli import cli_command, cli_env, error_line, run_main
from .._support.store import store_records
from ..harvest._helpers import assert_exactly_once, line_ids

Capsys = pytest.CaptureFixture[str]
Process = asyncio.subprocess.Process


def follow_args(provider: str, out: Path, *extra: str) -> list[str]:
    return [
        "harvest",
        provider,
        "--out",
        str(out),
        "--rate-limit",
        "0",
        "--follow",
        "--interval",
        "0.05",
        *extra,
    ]


# --- usage -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--interval", "2"],
            "--interval set how --follow polls: add --follow, or drop --interval",
        ),
        (["--lookback", "30"], "--lookback set how --follow polls: add --follow"),
        (
            ["--follow", "--max-items", "5"],
            "--max-items stops the harvest before it completes and --follow follows",
        ),
    ],
)
def test_follow_options_out_of_place_are_usage_errors(
    tmp_path: Path, capsys: Capsys, extra: list[str], message: str
) -> None:
    out = tmp_path / "o.jsonl"
    env = {"SENDCLOUD_PUBLIC_KEY": "k", "SENDCLOUD_SECRET_KEY": "s"}
    code, _, err = run_main(["harvest", "sendcloud", "--out", str(out), *extra], env, capsys)
    assert code == EXIT_USAGE
    assert message in error_line(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_a_bad_interval_is_refused_by_the_parser(
    tmp_path: Path, capsys: Capsys, value: str
) -> None:
    argv = ["harvest", "sendcloud", "--out", str(tmp_path / "o.jsonl"), "--follow"]
    code, _, err = run_main([*argv, "--interval", value], {}, capsys)
    assert code == EXIT_USAGE and "--interval" in err


def test_help_names_the_follow_options(capsys: Capsys) -> None:
    code, out, _ = run_main(["harvest", "--help"], {}, capsys)
    assert code == 0
    for flag in ("--follow", "--interval", "--lookback"):
        assert flag in out


# --- a follow in a subprocess ------------------------------------------------------------


class Follower:
    """``integration-logs harvest --follow`` in a subprocess, read line by line on stderr."""

    def __init__(self, proc: Process) -> None:
        self.proc = proc
        self.err: list[str] = []

    @classmethod
    async def start(
        cls, emulator: Emulator, args: list[str], *, stdout: int | None = None
    ) -> Follower:
        proc = await asyncio.create_subprocess_exec(
            *cli_command(*args),
            env=cli_env(emulator),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL if stdout is None else stdout,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def until(self, prefix: str) -> str:
        """The next stderr line starting with ``prefix`` (at most 20 s)."""
        assert self.proc.stderr is not None
        async with asyncio.timeout(20):
            while True:
                line = (await self.proc.stderr.readline()).decode()
                assert line, "the follower ended: " + "".join(self.err)
                self.err.append(line)
                if line.startswith(prefix):
                    return line

    async def until_ids(self, out: Path, ids: set[str]) -> None:
        """Until ``out`` holds every id of ``ids``, its batch reported (at most 20 s)."""
        async with asyncio.timeout(20):
            while not ids <= set(line_ids(_whole_lines(out))):
                await self.until("follow: +")

    async def stop(self, sig: signal.Signals) -> tuple[int, str]:
        """Send ``sig``; the exit code and all of stderr."""
        self.proc.send_signal(sig)
        try:
            _, rest = await asyncio.wait_for(self.proc.communicate(), 20)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        assert self.proc.returncode is not None
        return self.proc.returncode, "".join(self.err) + rest.decode()


def _whole_lines(out: Path) -> list[bytes]:
    data = out.read_bytes() if out.exists() else b""
    return data[: data.rfind(b"\n") + 1].splitlines(keepends=True)


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=80)
@pytest.mark.parametrize(
    ("sig", "code", "last"),
    [
        (
            signal.SIGTERM,
            143,
            "integration-logs: terminated (SIGTERM); progress is saved, rerun the same "
            "command to continue",
        ),
        (signal.SIGINT, 130, "integration-logs: interrupted; rerun the same command to continue"),
    ],
    ids=["sigterm", "ctrl-c"],
)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_a_stopped_follow_prints_its_summary_and_saves_its_state(
    emulator: Emulator,
    tmp_path: Path,
    provider: Provider,
    sig: signal.Signals,
    code: int,
    last: str,
) -> None:
    out = tmp_path / "logs.jsonl"
    follower = await Follower.start(emulator, follow_args(provider, out))
    await follower.until("follow: harvest complete; following ")
    added = emulator.add_logs(provider, 6)
    await follower.until_ids(out, {str(i) for i in added})
    rc, err = await follower.stop(sig)
    assert rc == code, err
    assert "Traceback" not in err
    assert f"{provider}: harvested 80 records" in err
    assert "  followed: 6 new records in " in err
    assert err.strip().splitlines()[-1] == last
    assert_exactly_once(out, store_records(emulator, provider))
    state = load_state(Path(str(out) + ".state.json"))
    assert state is not None and state.out_bytes == out.stat().st_size
    assert state.follow is not None and state.follow.records == 6


@pytest.mark.emulator(integrations=3, logs=80)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_kill_9_while_following_then_rerun_loses_and_repeats_nothing(
    emulator: Emulator, tmp_path: Path, provider: Provider
) -> None:
    out = tmp_path / "logs.jsonl"
    args = follow_args(provider, out)
    # killed as soon as logs are added: anywhere from the poll to the state save
    follower = await Follower.start(emulator, args)
    await follower.until("follow: harvest complete; following ")
    emulator.add_logs(provider, 30)
    await asyncio.sleep(0)
    rc, _ = await follower.stop(signal.SIGKILL)
    assert rc == -signal.SIGKILL
    # killed after a batch it reported (written and saved)
    follower = await Follower.start(emulator, args)
    await follower.until("follow: harvest complete; following ")
    added = emulator.add_logs(provider, 5)
    await follower.until_ids(out, {str(i) for i in added})
    emulator.add_logs(provider, 40)
    rc, _ = await follower.stop(signal.SIGKILL)
    assert rc == -signal.SIGKILL
    # while it is down more logs arrive; the rerun catches up, then follows
    emulator.add_logs(provider, 7)
    follower = await Follower.start(emulator, args)
    await follower.until("follow: harvest complete; following ")
    added = emulator.add_logs(provider, 3)
    await follower.until_ids(out, {str(i) for i in added})
    rc, err = await follower.stop(signal.SIGTERM)
    assert rc == 143, err
    expected = store_records(emulator, provider)
    assert len(expected) == 80 + 30 + 5 + 40 + 7 + 3
    assert_exactly_once(out, expected)


@pytest.mark.emulator(integrations=3, logs=40)
async def test_a_follow_of_named_integrations_on_sendcloud_v3(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "logs.jsonl"
    owners = sorted(emulator.store.integration_ids("sendcloud"), key=str)
    args = [*follow_args("sendcloud", out, "--api-version", "3"), "--integration", str(owners[0])]
    follower = await Follower.start(emulator, args)
    await follower.until("follow: harvest complete; following Sendcloud ")
    emulator.add_logs("sendcloud", 2, owners[1])
    added = emulator.add_logs("sendcloud", 3, owners[0])
    await follower.until_ids(out, {str(i) for i in added})
    rc, err = await follower.stop(signal.SIGTERM)
    assert rc == 143, err
    assert "followed: 3 new records" in err
    assert line_ids(_whole_lines(out))[-3:] == [str(i) for i in added]


@pytest.mark.emulator(integrations=2, logs=30)
async def test_a_follow_to_stdout_streams_each_batch(emulator: Emulator) -> None:
    args = follow_args("elasticpath", Path("-"))
    follower = await Follower.start(emulator, args, stdout=asyncio.subprocess.PIPE)
    await follower.until("follow: harvest complete; following Elastic Path ")
    added = {str(i) for i in emulator.add_logs("elasticpath", 4)}
    await follower.until("follow: +4 records")
    assert follower.proc.stdout is not None
    lines: list[bytes] = []
    async with asyncio.timeout(20):
        while not added <= set(line_ids(lines)):
            lines.append(await follower.proc.stdout.readline())
    assert len(lines) == 34 and set(line_ids(lines[30:])) == added
    rc, err = await follower.stop(signal.SIGTERM)
    assert rc == 143, err
    assert err.strip().splitlines()[-1].endswith("--out - keeps no state: a rerun starts over")
