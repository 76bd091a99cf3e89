"""EmulatorFleet: independent stores, their variables and stores file, and ``emulate --stores``."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integration_logs_async import SendcloudClient, providers
from integration_logs_async.auth import BasicAuth, ClientCredentials
from integration_logs_async.emulator import (
    EmulatorBindError,
    EmulatorConfig,
    EmulatorFleet,
    FaultConfig,
    FaultKind,
)
from integration_logs_async.errors import AuthenticationError
from integration_logs_async.providers._base import BaseClient

from .._support.clients import FAST
from .._support.http import basic_authorization

VARIANTS = [  # provider, api_version, auth, the variables' suffixes
    pytest.param("sendcloud", 2, "basic", ("PK", "SK"), id="sendcloud-v2-basic"),
    pytest.param(
        "sendcloud",
        3,
        "oauth2",
        ("CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL"),
        id="sendcloud-v3-oauth2",
    ),
    pytest.param("elasticpath", 2, None, ("CLIENT_ID", "CLIENT_SECRET"), id="elasticpath"),
]


def _resolve(credentials: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """The stores file's ``"$VAR"`` references resolved from ``env`` (KeyError if unknown)."""
    assert all(ref.startswith("$") for ref in credentials.values()), credentials
    return {key: env[ref.removeprefix("$")] for key, ref in credentials.items()}


def _client(table: dict[str, Any], env: dict[str, str]) -> BaseClient:
    """The package's client for one ``[[store]]`` table of a stores file."""
    creds = _resolve(table["credentials"], env)
    auth: BasicAuth | ClientCredentials
    if "public_key" in creds:
        auth = BasicAuth(creds["public_key"], creds["secret_key"])
    else:
        auth = ClientCredentials(
            creds["client_id"], creds["client_secret"], token_url=creds.get("token_url")
        )
    cls = providers.client_class(table["provider"], table.get("api_version"))
    return cls(auth, base_url=table["base_url"], **FAST)


def _basic_client(fleet: EmulatorFleet, key_of: int, url_of: int) -> SendcloudClient:
    """A Sendcloud client with store ``key_of``'s keys pointed at store ``url_of``."""
    env, names = fleet.env(), fleet.store(key_of).credentials
    auth = BasicAuth(env[names["public_key"]], env[names["secret_key"]])
    client: SendcloudClient = SendcloudClient(auth, base_url=fleet.base_url(url_of), **FAST)
    return client


async def test_stores_have_their_own_data_and_counts() -> None:
    async with EmulatorFleet(3, logs=[7, 9, 11], config=EmulatorConfig(integrations=2)) as fleet:
        assert fleet.names == ["store-000", "store-001", "store-002"]
        assert len({emu.port for emu in fleet}) == 3
        assert [emu.config.seed for emu in fleet] == [0, 1, 2]
        listings = []
        for i in range(3):
            async with _basic_client(fleet, i, i) as client:
                listings.append(await client.logs().collect())
        assert [len(listing) for listing in listings] == [7, 9, 11]
    async with EmulatorFleet(2, logs=10, seed=5) as same_size:
        pages = []
        for i in range(2):
            async with _basic_client(same_size, i, i) as client:
                pages.append(await client.logs().collect())
        assert len(pages[0]) == len(pages[1]) == 10
        assert pages[0] != pages[1]  # seeds 5 and 6: different data


async def test_credentials_of_one_store_are_refused_by_another(http: aiohttp.ClientSession) -> None:
    async with EmulatorFleet(2, logs=3) as fleet:
        async with _basic_client(fleet, 0, 0) as own:
            assert len(await own.logs().collect()) == 3
        async with _basic_client(fleet, 0, 1) as foreign:
            with pytest.raises(AuthenticationError):
                await foreign.logs().collect()
        first, second = fleet.emulators
        assert first.sendcloud_public_key == "emu-sendcloud-public-key-000"
        assert second.sendcloud_secret_key == "emu-sendcloud-secret-key-001"
        # every credential kind differs, and the token endpoints refuse the other store's
        form = {
            "grant_type": "client_credentials",
            "client_id": first.epcc_client_id,
            "client_secret": first.epcc_client_secret,
        }
        async with http.post(second.elasticpath_token_url, data=form) as response:
            assert response.status == 401
        async with http.post(first.elasticpath_token_url, data=form) as response:
            assert response.status == 200
        headers = {
            "Authorization": basic_authorization(
                first.sendcloud_client_id, first.sendcloud_client_secret
            )
        }
        sendcloud_form = {"grant_type": "client_credentials"}
        async with http.post(
            second.sendcloud_token_url, data=sendcloud_form, headers=headers
        ) as response:
            assert response.status == 401
        async with http.post(
            first.sendcloud_token_url, data=sendcloud_form, headers=headers
        ) as response:
            assert response.status == 200


async def test_one_stores_rate_limit_does_not_limit_another(http: aiohttp.ClientSession) -> None:
    async with EmulatorFleet(2, logs=3, rate_limit=2) as fleet:
        first, second = fleet.emulators
        assert first.config.rate_limit_rps == second.config.rate_limit_rps == 2
        url = "/integrations/logs"
        first_auth = {
            "Authorization": basic_authorization(
                first.sendcloud_public_key, first.sendcloud_secret_key
            )
        }
        statuses = []
        for _ in range(50):  # until store 0 answers 429 (2 per second are allowed)
            async with http.get(first.sendcloud_url + url, headers=first_auth) as response:
                statuses.append(response.status)
            if statuses[-1] == 429:
                break
        assert statuses[-1] == 429
        second_auth = {
            "Authorization": basic_authorization(
                second.sendcloud_public_key, second.sendcloud_secret_key
            )
        }
        for _ in range(2):  # store 1's own allowance is untouched
            async with http.get(second.sendcloud_url + url, headers=second_auth) as response:
                assert response.status == 200
        assert [r.status for r in second.requests] == [200, 200]
        assert 429 in [r.status for r in first.requests]


def test_latency_faults_and_ports_are_per_store() -> None:
    base = EmulatorConfig(port=41000, faults=FaultConfig.coerce({"server_error": 0.1, "seed": 4}))
    fleet = EmulatorFleet(3, config=base, latency=0.25, names=["eu", "us", "uk"])
    assert [emu.config.port for emu in fleet] == [41000, 41001, 41002]
    for i, emu in enumerate(fleet):
        assert emu.faults.rates == {FaultKind.SERVER_ERROR: 0.1, FaultKind.LATENCY: 1.0}
        assert emu.faults.latency_seconds == 0.25 and emu.faults.seed == 4 + i
    assert base.faults.rates == {FaultKind.SERVER_ERROR: 0.1}  # the template is untouched
    assert fleet.names == ["eu", "us", "uk"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 0}, "at least one store"),
        ({"names": ["a", "a"]}, "unique"),
        ({"names": ["a b", "c"]}, "letters, digits"),
        ({"names": ["a"]}, "2 store names"),
        ({"logs": [1, 2, 3]}, "one per store"),
        ({"provider": "elasticpath", "auth": "basic"}, "Elastic Path"),
        ({"api_version": 4}, "2 or 3"),
        ({"latency": -1}, "latency"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    options: dict[str, Any] = {"count": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        EmulatorFleet(**options)


@pytest.mark.parametrize(("provider", "version", "auth", "suffixes"), VARIANTS)
async def test_stores_toml_lists_every_store_with_env(
    provider: Any, version: int, auth: Any, suffixes: tuple[str, ...]
) -> None:
    async with EmulatorFleet(
        2, provider=provider, api_version=version, auth=auth, logs=[4, 6]
    ) as fleet:
        env = fleet.env("SHOP")
        text = fleet.stores_toml("SHOP", rate_limit=0, scope="all")
        assert not any(value in text for value in env.values())  # references only
        tables = tomllib.loads(text)["store"]
        assert [t["name"] for t in tables] == fleet.names
        assert all(t["rate_limit"] == 0 and t["scope"] == "all" for t in tables)
        assert all(t.get("api_version") == fleet.api_version for t in tables)
        counts = []
        for table in tables:
            async with _client(table, env) as client:
                counts.append(len(await client.logs().collect()))
        assert counts == [4, 6]
        assert sorted(env) == sorted(f"SHOP_STORE_{i:03d}_{s}" for i in (0, 1) for s in suffixes)


async def test_stores_toml_parses_with_the_fleet_parser() -> None:
    stores_module = pytest.importorskip("integration_logs_async.fleet._stores")
    credentials_module = pytest.importorskip("integration_logs_async.fleet._credentials")
    async with EmulatorFleet(2, api_version=3, auth="oauth2", logs=[3, 5]) as fleet:
        stores = stores_module.parse_stores(fleet.stores_toml(rate_limit=0))
        assert [s.name for s in stores] == fleet.names
        assert [s.base_url for s in stores] == [fleet.base_url(0), fleet.base_url(1)]
        assert all(s.api_version == 3 and s.rate_limit == 0 for s in stores)
        counts = []
        for store in stores:
            async with credentials_module.client_for_store(store, fleet.env()) as client:
                counts.append(len(await client.logs().collect()))
        assert counts == [3, 5]


async def test_stores_toml_refuses_what_it_cannot_write() -> None:
    async with EmulatorFleet(1) as fleet:
        with pytest.raises(ValueError, match="written by the fleet"):
            fleet.stores_toml(base_url="http://elsewhere")
        with pytest.raises(ValueError, match="finite"):
            fleet.stores_toml(rate_limit=float("inf"))
        with pytest.raises(ValueError, match="prefix"):
            fleet.env("1BAD")


async def test_a_store_that_cannot_start_stops_the_others(http: aiohttp.ClientSession) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fleet = EmulatorFleet(3, logs=1)
        fleet.emulators[1].config = replace(fleet.emulators[1].config, port=port)
        with pytest.raises(EmulatorBindError) as caught:
            await fleet.start()
        assert "store-001" in "".join(getattr(caught.value, "__notes__", []))
    for emu in (fleet.emulators[0], fleet.emulators[2]):
        url = emu.admin_url + "/stats"  # it listened once: its port is known
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(url):
                pass
    await fleet.stop()
    await fleet.stop()  # idempotent


async def test_stop_is_idempotent_and_stops_every_store(http: aiohttp.ClientSession) -> None:
    fleet = await EmulatorFleet(2, logs=1).start()
    urls = [emu.admin_url + "/stats" for emu in fleet]
    for url in urls:
        async with http.get(url) as response:
            assert response.status == 200
    await fleet.stop()
    await fleet.stop()
    for url in urls:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(url):
                pass


async def _read_line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()


async def test_cli_runs_a_fleet_and_writes_the_stores_file(tmp_path: Path) -> None:
    stores_file = tmp_path / "stores.toml"
    command = [
        sys.executable,
        "-m",
        "integration_logs_async.emulator",
        "--stores",
        "3",
        "--port",
        "0",
        "--logs",
        "5",
        "--stores-file",
        str(stores_file),
        "--stores-key",
        "rate_limit=0",
    ]
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    try:
        info = json.loads(await _read_line(proc))
        assert info["pid"] == proc.pid and info["stores_file"] == str(stores_file)
        assert [s["name"] for s in info["stores"]] == ["store-000", "store-001", "store-002"]
        assert len({s["base_url"] for s in info["stores"]}) == 3
        env = info["env"]
        assert env == {k: v for s in info["stores"] for k, v in s["env"].items()}
        assert env["EMU_STORE_002_PK"] == "emu-sendcloud-public-key-002"
        text = stores_file.read_text()
        assert "emu-sendcloud-secret-key" not in text
        tables = tomllib.loads(text)["store"]
        assert [t["base_url"] for t in tables] == [s["base_url"] for s in info["stores"]]
        for table in tables:
            assert table["rate_limit"] == 0
            async with _client(table, env) as client:
                assert len(await client.logs().collect()) == 5
        again = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 2
        assert "exists already" in again.stderr and str(stores_file) in again.stderr
        assert stores_file.read_text() == text  # not replaced
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=15) == 0


async def test_cli_human_output_and_sigint() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "integration_logs_async.emulator",
        "--no-json",
        "--stores",
        "2",
        "--stores-provider",
        "elasticpath",
        "--port",
        "0",
        "--logs",
        "2",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        lines = [await _read_line(proc)]
        while "Ctrl+C" not in lines[-1]:
            lines.append(await _read_line(proc))
        assert "2 elasticpath stores" in lines[0]
        exports = {line.split("=", 1)[0] for line in lines if line.startswith("export ")}
        assert exports == {
            f"export EMU_STORE_00{i}_{suffix}"
            for i in (0, 1)
            for suffix in ("CLIENT_ID", "CLIENT_SECRET")
        }
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), timeout=15) == 0


def test_cli_refuses_bad_fleet_options() -> None:
    base = [sys.executable, "-m", "integration_logs_async.emulator", "--port", "0"]
    for extra, message in [
        (["--stores", "0"], "1 or more"),
        (["--stores-file", "stores.toml"], "need --stores N"),
        (["--stores", "2", "--stores-env-prefix", "9X"], "prefix"),
        (["--stores", "2", "--stores-key", "name=x"], "KEY=VALUE"),
        (["--stores", "2", "--stores-file", "/nonexistent-dir/stores.toml"], "not found"),
    ]:
        result = subprocess.run(base + extra, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (extra, result.stderr)
        assert message in result.stderr, (extra, result.stderr)
