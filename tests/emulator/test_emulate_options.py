"""``integration-logs emulate``: the data options and a port that cannot be bound."""

from __future__ import annotations

import asyncio
import errno
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator, EmulatorBindError, EmulatorConfig
from integration_logs_async.emulator.cli import config_from_args, run_emulate

from ._helpers import basic, get, parse_emulate_args

CLI = (sys.executable, "-m", "integration_logs_async.cli", "emulate")


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_data_options_reach_the_config() -> None:
    config = config_from_args(
        parse_emulate_args(
            "--end-time",
            "2025-01-01T12:00:00+02:00",
            "--time-span-days",
            "2.5",
            "--protected-ratio",
            "0",
            "--sendcloud-page-size",
            "10",
            "--sendcloud-v3-page-size",
            "12",
            "--ep-page-limit",
            "5",
            "--jobs-per-integration",
            "2",
        )
    )
    assert config.end_time == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert config.time_span_days == 2.5 and config.protected_ratio == 0.0
    assert (config.sendcloud_page_size, config.ep_page_limit) == (10, 5)
    assert config.sendcloud_v3_page_size == 12
    assert config.jobs_per_integration == 2
    assert config_from_args(parse_emulate_args("--end-time", "2025-03-04")).end_time == datetime(
        2025, 3, 4, tzinfo=UTC
    )
    assert config_from_args(parse_emulate_args()) == EmulatorConfig(port=8080)


def test_bad_data_options_are_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_emulate_args("--end-time", "yesterday")
    assert exited.value.code == 2
    assert "invalid time 'yesterday': use ISO 8601" in capsys.readouterr().err
    assert run_emulate(parse_emulate_args("--protected-ratio", "2")) == 2
    assert capsys.readouterr().err == "emulate: protected_ratio must be between 0 and 1\n"
    assert run_emulate(parse_emulate_args("--fault", "server_error=often")) == 2
    assert "--fault server_error=often: 'often' is not a number" in capsys.readouterr().err
    assert run_emulate(parse_emulate_args("--schedule", "third=reset")) == 2
    assert "--schedule third=reset: expected N=KIND" in capsys.readouterr().err
    assert run_emulate(parse_emulate_args("--schedule", "3=explode")) == 2
    err = capsys.readouterr().err
    assert "unknown fault kind 'explode'; valid kinds: bad_gateway" in err


async def test_emulate_serves_the_requested_data(http: aiohttp.ClientSession) -> None:
    end = datetime(2025, 1, 1, tzinfo=UTC)
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "--port=0",
        "--json",
        "--end-time=2025-01-01T00:00:00Z",
        "--time-span-days=1",
        "--logs=40",
        "--integrations=2",
        "--jobs-per-integration=1",
        "--protected-ratio=1",
        "--seed=4",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=15))
        emu = Emulator(EmulatorConfig(**info["credentials"]))
        url = info["sendcloud_url"] + "/integrations/logs?page_size=100"
        status, sendcloud = await get(http, url, basic(emu))
        assert status == 200 and len(sendcloud["results"]) == 40
        times = [datetime.fromisoformat(log["created_at"]) for log in sendcloud["results"]]
        assert all(end - timedelta(days=1) <= t <= end for t in times)
        assert all(log["protected"] for log in sendcloud["results"])
        form = {
            "grant_type": "client_credentials",
            "client_id": emu.epcc_client_id,
            "client_secret": emu.epcc_client_secret,
        }
        async with http.post(info["elasticpath_token_url"], data=form) as response:
            headers = {"Authorization": "Bearer " + (await response.json())["access_token"]}
        _, jobs = await get(http, info["url"] + "/v2/integrations", headers)
        assert len(jobs["data"]) == 2
        ep_url = info["url"] + "/v2/integrations/logs?page[limit]=100"
        _, elasticpath = await get(http, ep_url, headers)
        stamps = [log["meta"]["timestamps"]["created_at"] for log in elasticpath["data"]]
        assert len(stamps) == 40 and all("2024-12-31T" <= s < "2025-01-01T" for s in stamps)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0


def test_a_taken_port_is_named_in_one_line(taken_port: int) -> None:
    result = subprocess.run(
        [*CLI, "--port", str(taken_port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"emulate: cannot listen on 127.0.0.1:{taken_port}: the port is already in use; "
        "pick another --port, or --port 0 for a free one\n"
    )


async def test_the_library_raises_a_typed_bind_error(taken_port: int) -> None:
    emu = Emulator(port=taken_port)
    with pytest.raises(EmulatorBindError) as caught:
        await emu.start()
    error = caught.value
    assert isinstance(error, OSError) and error.errno == errno.EADDRINUSE
    assert (error.host, error.port) == ("127.0.0.1", taken_port)
    assert str(error) == (
        f"cannot listen on 127.0.0.1:{taken_port}: the port is already in use; "
        "pick another port, or port 0 for a free one"
    )
    async with Emulator(port=0, logs=1) as free:  # the failed start left nothing behind
        assert free.port != taken_port
    with pytest.raises(RuntimeError, match="not started"):
        _ = emu.port
