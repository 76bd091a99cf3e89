"""``--rate-limit 0`` disables pacing, and the progress line says what limits the rate."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from integration_logs_async.cli import build_parser
from integration_logs_async.cli._clients import client_from_args
from integration_logs_async.emulator import FaultConfig
from integration_logs_async.harvest._progress import PACED_NOTE

from .._support.cli import run_main
from .._support.emulators import ThreadedEmulator
from ._helpers import basic_only

ENV = {"EPCC_CLIENT_ID": "i", "EPCC_CLIENT_SECRET": "s", "SENDCLOUD_PUBLIC_KEY": "k"}


def _args(*extra: str) -> argparse.Namespace:
    return build_parser().parse_args(["integrations", "elasticpath", *extra])


async def test_rate_limit_zero_disables_pacing_and_the_flags_reach_the_client() -> None:
    async with client_from_args(_args("--rate-limit", "0"), ENV) as client:
        assert client.config.rate_limit == 0
        assert client._transport.limiter.rate is None  # no pacing at all
    async with client_from_args(_args(), ENV) as client:  # the provider's documented limit
        assert client.config.rate_limit is None
        assert client._transport.limiter.rate == client.default_rate_limit
    flags = (
        "--max-attempts 3 --connect-timeout 1.5 --read-timeout 2.5 --request-deadline 9 "
        "--rate-limit 7"
    )
    async with client_from_args(_args(*flags.split()), ENV) as client:
        cfg = client.config
        assert (cfg.max_attempts, cfg.connect_timeout, cfg.read_timeout) == (3, 1.5, 2.5)
        assert (cfg.request_deadline, cfg.rate_limit) == (9.0, 7.0)


def _progress(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("progress: ")]


def test_the_progress_line_says_when_pacing_limits_the_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ThreadedEmulator(integrations=1, logs=48) as emu:
        base = ["harvest", "sendcloud", "--scope", "all", "--page-size", "4"]
        base += ["--progress-interval", "0.25"]
        out = tmp_path / "paced.jsonl"
        code, _, err = run_main(
            [*base, "--out", str(out), "--rate-limit", "8"], basic_only(emu), capsys
        )
        assert code == 0, err
        paced = _progress(err)
        # a line whose interval saw no request (a slow machine) has nothing to say
        assert any(line.endswith("; " + PACED_NOTE) for line in paced), err
        assert all(line.endswith("; " + PACED_NOTE) or "; " not in line for line in paced), err

        # Unpaced, the run must still last past a few progress intervals, or no line would be
        # there to check: 12 requests of at least 60 ms each outlast 0.1 s intervals.
        emu.set_faults(FaultConfig(rates={"latency": 1.0}, latency_seconds=0.06))
        out = tmp_path / "free.jsonl"
        code, _, err = run_main(
            [*base, "--out", str(out), "--rate-limit", "0", "--progress-interval", "0.1"],
            basic_only(emu),
            capsys,
        )
        assert code == 0, err
        free = _progress(err)
        assert free, err  # the check below saw lines
        assert all("; " not in line for line in free), err  # no note: neither paced nor paused
        assert "paced" not in err and "429" not in "".join(free).replace(" 0 429s", "")


def test_the_progress_line_says_when_a_429_pause_holds_requests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = FaultConfig(schedule={2: "rate_limited"}, retry_after_seconds=1)
    with ThreadedEmulator(integrations=1, logs=20, faults=faults) as emu:
        argv = ["harvest", "sendcloud", "--scope", "all", "--page-size", "5", "--rate-limit", "0"]
        argv += ["--progress-interval", "0.2", "--out", str(tmp_path / "x.jsonl")]
        code, _, err = run_main(argv, basic_only(emu), capsys)
    assert code == 0, err
    paused = [line for line in _progress(err) if "after 429: the server asked to slow down" in line]
    assert paused, err
    assert any(" s more after 429" in line for line in paused), err
    assert "1 retries, 1 429s" in paused[-1]
