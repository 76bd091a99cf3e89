"""Logs arriving on a schedule: the pure due-count rule, the rate parser and ``--arrival-rate``,
the ticking task (in the test's loop and in a threaded emulator), ``/_emulator/arrivals``."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator, EmulatorConfig, Provider, Store
from integration_logs_async.emulator._arrivals import (
    MAX_TICK,
    MIN_TICK,
    Arrivals,
    due,
    parse_rate,
    tick_seconds,
)
from integration_logs_async.emulator.cli import _announce, config_from_args

from .._support.emulators import ThreadedEmulator
from ._helpers import get, parse_emulate_args

NOW = datetime(2026, 12, 7, 6, 30, 15, 250_000, tzinfo=UTC)
WAIT = 30.0  # seconds a condition may take on a loaded machine (never a timing assertion)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the pure rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "elapsed", "added", "expected"),
    [
        (5.0, 1.0, 0, 5),
        (5.0, 1.19, 5, 0),
        (5.0, 1.2, 5, 1),
        (0.5, 1.9, 0, 0),
        (0.5, 2.0, 0, 1),
        (30 / 60, 60.0, 0, 30),
        (5.0, 1.0, 7, 0),  # never negative
        (0.0, 100.0, 0, 0),
        (5.0, -1.0, 0, 0),
    ],
)
def test_due(rate: float, elapsed: float, added: int, expected: int) -> None:
    assert due(rate, elapsed, added) == expected


@pytest.mark.parametrize("rate", [0.3, 1.0, 7.0, 250.0])
def test_due_does_not_drift_whatever_the_ticks(rate: float) -> None:
    elapsed, added = 0.0, 0
    for step in [0.013, 0.2, 0.5, 0.001, 1.7, 0.09] * 20:
        elapsed += step
        added += due(rate, elapsed, added)
        assert added == math.floor(rate * elapsed)


def test_tick_seconds_stays_within_bounds() -> None:
    assert tick_seconds(0.0) == MAX_TICK
    assert tick_seconds(0.5) == MAX_TICK
    assert tick_seconds(20.0) == pytest.approx(0.05)
    assert tick_seconds(10_000.0) == MIN_TICK


# --- parsing: the rate and the CLI flag --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("5/s", 5.0), ("30/m", 0.5), ("2/h", 2 / 3600), ("7", 7.0), ("0.5", 0.5), (" 3 / M ", 0.05)],
)
def test_parse_rate(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["", "fast", "5/d", "-1", "5/", "/s", "1e3", "5/s/s"])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid arrival rate .*e\.g\. 5/s, 30/m, 2/h"):
        parse_rate(text)


def test_cli_arrival_options_reach_the_config() -> None:
    config = config_from_args(
        parse_emulate_args("--arrival-rate", "30/m", "--arrival-providers", "elasticpath")
    )
    assert config.arrival_rate == 0.5 and config.arrival_providers == ("elasticpath",)
    defaults = config_from_args(parse_emulate_args())
    assert defaults.arrival_rate == 0.0
    assert defaults.arrival_providers == ("sendcloud", "elasticpath")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--arrival-rate", "lots", "invalid arrival rate 'lots'"),
        ("--arrival-providers", "shopify", "unknown provider 'shopify'"),
    ],
)
def test_cli_rejects_a_bad_arrival_option(
    capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_emulate_args(option, value)
    assert exit_info.value.code == 2
    assert f"argument {option}: {message}" in capsys.readouterr().err


def test_config_rejects_bad_arrival_settings() -> None:
    with pytest.raises(ValueError, match="arrival_rate"):
        EmulatorConfig(arrival_rate=-1)
    with pytest.raises(ValueError, match="arrival_providers"):
        EmulatorConfig(arrival_providers=("shopify",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="arrival_success_ratio"):
        EmulatorConfig(arrival_success_ratio=1.5)
    assert EmulatorConfig(arrival_providers=["sendcloud"]).arrival_providers == (  # type: ignore[arg-type]
        "sendcloud",
    )


# --- the schedule, driven by a fake clock -------------------------------------------------------


def _arrivals(**options: object) -> tuple[Arrivals, Store, FakeClock]:
    config = EmulatorConfig(integrations=3, logs=40, **options)  # type: ignore[arg-type]
    store, clock = Store(config), FakeClock()
    return Arrivals(config, store, clock=clock, now=lambda: NOW), store, clock


def test_step_adds_what_is_due_at_the_head_created_now() -> None:
    arrivals, store, clock = _arrivals()
    arrivals.set(5)
    assert arrivals.step() == 0
    clock.now += 1.0
    assert arrivals.step() == 5
    clock.now += 0.1
    assert arrivals.step() == 0  # 5.5 due: still 5
    clock.now += 0.1
    assert arrivals.step() == 1
    assert arrivals.added == {"sendcloud": 6, "elasticpath": 6}
    assert store.log_count("sendcloud") == store.log_count("elasticpath") == 46
    newest = json.loads(store.sendcloud_logs[0])
    assert datetime.fromisoformat(newest["created_at"]) == NOW.replace(microsecond=0)
    ep_newest = json.loads(store.elasticpath_logs[0])
    created = ep_newest["meta"]["timestamps"]["created_at"]
    assert datetime.fromisoformat(created.replace("Z", "+00:00")) == NOW


def test_setting_the_rate_restarts_the_count_and_zero_stops() -> None:
    arrivals, store, clock = _arrivals(arrival_rate=2.0, arrival_providers=("sendcloud",))
    clock.now += 3.0
    assert arrivals.step() == 6
    arrivals.set(10, ["elasticpath"])
    assert arrivals.step() == 0  # counted from the change
    clock.now += 0.5
    assert arrivals.step() == 5
    arrivals.set(0)
    clock.now += 100.0
    assert arrivals.step() == 0
    assert arrivals.added == {"sendcloud": 6, "elasticpath": 5}
    assert store.log_count("sendcloud") == 46 and store.log_count("elasticpath") == 45


@pytest.mark.parametrize(("ratio", "succeeded"), [(0.0, {False}), (1.0, {True})])
def test_elasticpath_success_ratio(ratio: float, succeeded: set[bool]) -> None:
    arrivals, store, clock = _arrivals(arrival_success_ratio=ratio)
    arrivals.set(20, "elasticpath")
    clock.now += 1.0
    arrivals.step()
    new = [json.loads(raw) for raw in store.elasticpath_logs[:20]]
    assert {log["succeeded"] for log in new} == succeeded


def test_arrivals_reject_bad_values() -> None:
    arrivals, _, _ = _arrivals()
    with pytest.raises(ValueError, match="finite number >= 0"):
        arrivals.set(-1)
    with pytest.raises(ValueError, match="finite number >= 0"):
        arrivals.set(math.inf)
    with pytest.raises(ValueError, match="unknown provider 'nope'"):
        arrivals.set(1, ["nope"])


# --- the task in a running server -------------------------------------------------------------


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def _consistent(emu: Emulator, provider: Provider) -> None:
    """Every listed record renders with the id the listing gives it (no torn appends)."""
    view = emu.store.logs(provider)
    for log_id, raw in zip(view.ids(), view, strict=True):
        assert json.loads(raw)["id"] == log_id


@pytest.mark.emulator(integrations=3, logs=50, arrival_rate=200.0)
async def test_logs_arrive_while_the_server_runs(emulator: Emulator) -> None:
    await _until(lambda: emulator.arrivals["added"]["elasticpath"] >= 30)
    emulator.set_arrival_rate(0)
    added = emulator.arrivals["added"]
    assert emulator.store.log_count("sendcloud") == 50 + added["sendcloud"]
    assert emulator.store.log_count("elasticpath") == 50 + added["elasticpath"]
    async with emulator.sendcloud_client(rate_limit=0) as client:
        listed = [record.id async for record in client.logs(page_size=500)]
    assert len(listed) == 50 + added["sendcloud"]
    assert listed == sorted(listed, reverse=True)  # new ids at the head
    await asyncio.sleep(3 * MAX_TICK)  # stopped: nothing more arrives
    assert emulator.arrivals["added"] == added


async def test_arrival_task_ends_with_the_server() -> None:
    emu = Emulator(integrations=2, logs=10, arrival_rate=50.0)
    await emu.start()
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "emulator-arrivals" in names
    await emu.stop()
    assert "emulator-arrivals" not in {task.get_name() for task in asyncio.all_tasks()}
    added = emu.arrivals["added"]["sendcloud"]
    await asyncio.sleep(3 * MAX_TICK)
    assert emu.arrivals["added"]["sendcloud"] == added


def test_threaded_emulator_takes_arrivals_and_changes_from_the_test_thread() -> None:
    """Arrivals run in the server's thread while the test adds and deletes logs from its own:
    each change runs on the server's loop, so no record is torn."""
    with ThreadedEmulator(integrations=3, logs=30) as emu:
        emu.set_arrival_rate(300.0)
        assert emu.arrivals["rate"] == 300.0
        deleted = 0
        for _ in range(40):
            emu.add_logs("sendcloud", 2)
            new = emu.add_logs("elasticpath", 2)
            deleted += emu.delete_logs("elasticpath", new[:1])
        deadline = time.monotonic() + WAIT
        while emu.arrivals["added"]["sendcloud"] < 30:
            assert time.monotonic() < deadline, "no arrivals"
            time.sleep(0.01)
        emu.set_arrival_rate(0)
        added = emu.arrivals["added"]
        assert emu.store.log_count("sendcloud") == 30 + 80 + added["sendcloud"]
        assert emu.store.log_count("elasticpath") == 30 + 80 - deleted + added["elasticpath"]
        _consistent(emu, "sendcloud")
        _consistent(emu, "elasticpath")


async def test_admin_arrivals_endpoints(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.admin_url + "/arrivals"
    status, body = await get(http, url)
    assert status == 200 and body["rate"] == 0.0
    assert body["added"] == {"sendcloud": 0, "elasticpath": 0}
    async with http.put(url, json={"rate": "30/m", "providers": ["sendcloud"]}) as response:
        assert response.status == 200
        body = await response.json()
    assert body["rate"] == 0.5 and body["providers"] == ["sendcloud"]
    assert emulator.arrivals["providers"] == ["sendcloud"]
    _, info = await get(http, emulator.admin_url + "/info")
    assert info["arrivals"]["rate_text"] == "0.5/s"
    bad_bodies = [
        {"rate": "fast"},
        {"rate": -2},
        {"providers": ["sendcloud"]},
        {"rate": 1, "providers": ["x"]},
    ]
    for bad in bad_bodies:
        async with http.put(url, json=bad) as response:
            assert response.status == 400, bad
            assert (await response.json())["error"]
    async with http.put(url, json={"rate": 0}) as response:
        assert (await response.json())["providers"] == ["sendcloud", "elasticpath"]


@pytest.mark.emulator(arrival_rate=2.0, arrival_providers=("elasticpath",))
async def test_banner_and_info_name_the_rate(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _announce(emulator, as_json=False)
    assert "Arrivals:     2/s per provider (elasticpath)" in capsys.readouterr().out
    assert emulator.info()["arrivals"]["rate"] == 2.0  # type: ignore[index]
    emulator.set_arrival_rate(0)
    _announce(emulator, as_json=False)
    assert "Arrivals" not in capsys.readouterr().out
