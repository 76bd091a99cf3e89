"""The ``emulate`` command, the ``python -m`` process, and the pytest plugin's fixtures."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator, EmulatorConfig, FaultKind
from integration_logs_async.emulator.cli import config_from_args, run_emulate
from integration_logs_async.testing import DEFAULT_OPTIONS, EmulatorFactory

from ._helpers import basic, get, parse_emulate_args


def test_arguments_to_config() -> None:
    args = parse_emulate_args(
        "--port",
        "0",
        "--logs",
        "10",
        "--sendcloud-logs",
        "7",
        "--seed",
        "3",
        "--fault",
        "server_error=0.25",
        "--fault",
        "retry_after_seconds=5",
        "--fault",
        "latency_seconds=0.5",
        "--fault",
        "include_token_endpoints=true",
        "--fault",
        "foreign_origin=http://127.0.0.2:{port}",
        "--schedule",
        "3=reset",
        "--rate-limit",
        "20",
        "--token-ttl",
        "60",
        "--ep-meta-style",
        "nested",
        "--ep-token-under-data",
        "--ep-offset-ceiling",
        "10000",
    )
    config = config_from_args(args)
    assert (config.port, config.logs, config.sendcloud_log_count, config.seed) == (0, 10, 7, 3)
    assert config.faults.rates == {FaultKind.SERVER_ERROR: 0.25}
    assert config.faults.schedule == {3: FaultKind.RESET}
    assert config.faults.retry_after_seconds == 5 and config.faults.latency_seconds == 0.5
    assert config.faults.include_token_endpoints
    assert config.faults.foreign_origin == "http://127.0.0.2:{port}"
    assert (config.rate_limit_rps, config.token_ttl, config.ep_meta_style) == (20, 60.0, "nested")
    assert config.ep_token_under_data and config.ep_offset_ceiling == 10000
    assert not args.json


def test_bad_fault_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_emulate(parse_emulate_args("--fault", "explode=1")) == 2
    assert "unknown fault" in capsys.readouterr().err
    assert run_emulate(parse_emulate_args("--schedule", "2=explode")) == 2


async def _read_line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), timeout=15)).decode()


async def test_python_m_process(http: aiohttp.ClientSession) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "integration_logs_async.emulator",
        "--port",
        "0",
        "--logs",
        "30",
        "--integrations",
        "2",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        info = json.loads(await _read_line(proc))
        assert info["pid"] == proc.pid
        assert info["url"] == f"http://127.0.0.1:{info['port']}"
        assert info["sendcloud_url"] == info["url"] + "/api/v2"
        assert info["env"]["EPCC_API_BASE_URL"] == info["elasticpath_url"]
        credentials = info["credentials"]
        emu = Emulator(EmulatorConfig(**credentials))
        status, body = await get(http, info["sendcloud_url"] + "/integrations/logs", basic(emu))
        assert status == 200 and len(body["results"]) == 30
        status, stats = await get(http, info["admin_url"] + "/stats")
        assert stats["logs"] == {"sendcloud": 30, "elasticpath": 30}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0


async def test_human_output_and_sigint(http: aiohttp.ClientSession) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "integration_logs_async.emulator",
        "--no-json",
        "--port",
        "0",
        "--logs",
        "5",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        lines = [await _read_line(proc)]
        while "Ctrl+C" not in lines[-1]:
            lines.append(await _read_line(proc))
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert set(exports) == {
            "SENDCLOUD_PUBLIC_KEY",
            "SENDCLOUD_SECRET_KEY",
            "SENDCLOUD_CLIENT_ID",
            "SENDCLOUD_CLIENT_SECRET",
            "SENDCLOUD_API_BASE_URL",
            "SENDCLOUD_API_V3_BASE_URL",
            "SENDCLOUD_TOKEN_URL",
            "EPCC_CLIENT_ID",
            "EPCC_CLIENT_SECRET",
            "EPCC_API_BASE_URL",
        }
        base = exports["EPCC_API_BASE_URL"]
        form = {
            "grant_type": "client_credentials",
            "client_id": exports["EPCC_CLIENT_ID"],
            "client_secret": exports["EPCC_CLIENT_SECRET"],
        }
        async with http.post(base + "/oauth/access_token", data=form) as response:
            token = (await response.json())["access_token"]
        headers = {"Authorization": "Bearer " + token}
        assert (await get(http, base + "/v2/integrations", headers))[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0


async def test_emulator_fixture(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    assert len(emulator.store.sendcloud_integration_ids) == DEFAULT_OPTIONS["integrations"]
    assert len(emulator.store.elasticpath_logs) == DEFAULT_OPTIONS["logs"]
    assert (await get(http, emulator.sendcloud_url + "/integrations", basic(emulator)))[0] == 200


@pytest.mark.emulator(logs=7, seed=9)
async def test_emulator_marker(emulator: Emulator) -> None:
    assert emulator.config.seed == 9 and len(emulator.store.sendcloud_logs) == 7


async def test_emulator_factory(emulator_factory: EmulatorFactory) -> None:
    first = await emulator_factory(logs=2)
    second = await emulator_factory(EmulatorConfig(logs=3))
    assert first.port != second.port
    assert len(second.store.sendcloud_logs) == 3


async def test_factory_stops_everything(http: aiohttp.ClientSession) -> None:
    factory = EmulatorFactory()
    emu = await factory(logs=1)
    await factory.aclose()
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(http, emu.sendcloud_url + "/integrations")


def test_plugin_in_strict_mode(tmp_path: Path) -> None:
    (tmp_path / "test_strict.py").write_text(
        textwrap.dedent("""
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.emulator(logs=4)
        async def test_it(emulator, emulator_factory):
            other = await emulator_factory(logs=2)
            assert len(emulator.store.sendcloud_logs) == 4
            assert len(other.store.sendcloud_logs) == 2
    """)
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=strict",
            "-W",
            "error::ResourceWarning",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_settle_heap_freezes_what_exists() -> None:
    """The command-line servers move their generated data out of full collections."""
    import gc

    from integration_logs_async.emulator._heap import settle_heap

    before = gc.get_freeze_count()
    try:
        settle_heap()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
