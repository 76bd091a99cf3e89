"""The documented shapes of ``faults``: a FaultConfig, rates, a schedule, fields, or a mix.

Each shape is given where a user gives it (the ``emulator`` marker, ``Emulator(...)``,
``set_faults``, ``PUT /_emulator/faults``) and checked by what a plain HTTP client sees.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator, EmulatorConfig, FaultConfig, FaultKind
from integration_logs_async.testing import marker_config

from ._helpers import basic, get


async def _statuses(emu: Emulator, http: aiohttp.ClientSession, count: int) -> list[int]:
    url = emu.sendcloud_url + "/integrations/logs?page_size=1"
    return [(await get(http, url, basic(emu)))[0] for _ in range(count)]


@pytest.mark.emulator(faults=FaultConfig(schedule={2: "service_unavailable"}))
async def test_marker_takes_a_fault_config(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    assert emulator.faults == FaultConfig(schedule={2: "service_unavailable"})
    assert await _statuses(emulator, http, 3) == [200, 503, 200]


@pytest.mark.emulator(faults={"server_error": 1.0})
async def test_marker_takes_rates_by_kind(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    assert emulator.faults.rates == {FaultKind.SERVER_ERROR: 1.0}
    assert await _statuses(emulator, http, 3) == [500, 500, 500]


@pytest.mark.emulator(faults={2: "bad_gateway", 4: "gateway_timeout"})
async def test_marker_takes_a_schedule(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    assert await _statuses(emulator, http, 4) == [200, 502, 200, 504]


@pytest.mark.emulator(faults={"rates": {"rate_limited": 1.0}, "retry_after_seconds": 7})
async def test_marker_takes_fault_config_fields(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(emulator.sendcloud_url + "/integrations", headers=basic(emulator)) as r:
        assert (r.status, r.headers["Retry-After"]) == (429, "7")


@pytest.mark.emulator(faults={1: "rate_limited", "retry_after_seconds": 3, "server_error": 0.0})
async def test_marker_takes_a_mix(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    assert emulator.faults.schedule == {1: FaultKind.RATE_LIMITED}
    async with http.get(emulator.sendcloud_url + "/integrations", headers=basic(emulator)) as r:
        assert (r.status, r.headers["Retry-After"]) == (429, "3")
    assert await _statuses(emulator, http, 2) == [200, 200]


@pytest.mark.parametrize(
    ("faults", "named"),
    [
        ({"explode": 0.5}, "'explode'"),
        ({3: "explode"}, "'explode'"),
        ({"rates": {"explode": 0.5}}, "'explode'"),
        (FaultConfig, "FaultConfig"),
        (["server_error"], "['server_error']"),
    ],
)
def test_bad_faults_name_the_problem_and_the_valid_kinds(faults: Any, named: str) -> None:
    with pytest.raises(ValueError, match="faults") as caught:
        marker_config(pytest.mark.emulator(faults=faults).mark)
    message = str(caught.value)
    assert named in message
    if named == "'explode'":
        assert all(kind.value in message for kind in FaultKind)


def test_marker_options_are_checked() -> None:
    with pytest.raises(ValueError, match=r"unknown option.*log.*valid: .*logs"):
        marker_config(pytest.mark.emulator(log=5).mark)
    with pytest.raises(ValueError, match="at most one positional EmulatorConfig"):
        marker_config(pytest.mark.emulator(5).mark)
    with pytest.raises(ValueError, match=r"@pytest\.mark\.emulator: .*integration"):
        marker_config(pytest.mark.emulator(integrations=0).mark)
    config = marker_config(pytest.mark.emulator(EmulatorConfig(seed=4), logs=2).mark)
    assert (config.seed, config.logs, config.integrations) == (4, 2, 5)
    assert marker_config(None) == EmulatorConfig(integrations=3, logs=120)


def test_coerce_reads_json_keys_and_keeps_a_config() -> None:
    config = FaultConfig(rates={"reset": 0.1})
    assert FaultConfig.coerce(config) is config
    assert FaultConfig.coerce(None) == FaultConfig()
    assert FaultConfig.coerce({"3": "reset", "schedule": {"5": "slow"}}).schedule == {
        3: FaultKind.RESET,
        5: FaultKind.SLOW,
    }
    with pytest.raises(ValueError, match="unknown fault kind 'nope'; valid kinds: bad_gateway"):
        FaultConfig(schedule={1: "nope"})


async def test_emulator_config_and_set_faults_take_the_same_shapes(
    http: aiohttp.ClientSession,
) -> None:
    async with Emulator(logs=3, faults={1: "server_error"}) as emu:
        assert await _statuses(emu, http, 2) == [500, 200]
        emu.set_faults({"bad_gateway": 1.0})
        assert await _statuses(emu, http, 1) == [502]
        emu.set_faults({2: "reset", "seed": 3})
        assert emu.faults.seed == 3 and emu.faults.schedule == {2: FaultKind.RESET}
        emu.set_faults(None)
        assert not emu.faults.active


async def test_admin_put_takes_the_same_shapes(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    async with http.put(emulator.admin_url + "/faults", json={"2": "bad_gateway"}) as response:
        assert response.status == 200
        assert (await response.json())["schedule"] == {"2": "bad_gateway"}
    assert await _statuses(emulator, http, 2) == [200, 502]
    async with http.put(emulator.admin_url + "/faults", json={"explode": 1}) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert "'explode'" in error and "server_error" in error
