"""``run_fleet``/``run_store`` against real emulators and a real PostgreSQL: every store
harvested exactly once, one store's failure (refused credentials, server down, another run
holding it) never stopping the others, a store added to the file, two fleet runs at once,
cancellation, and the failure lines (what happened, what to do, no secret)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from dataclasses import replace

import pytest

from integration_logs_async.config import ClientSettings
from integration_logs_async.emulator import Emulator, EmulatorConfig, EmulatorFleet
from integration_logs_async.errors import AuthenticationError, FanOutError, NotFoundError
from integration_logs_async.fleet._failures import describe_failure
from integration_logs_async.fleet._run import FleetResult, StoreOutcome, run_fleet, run_store
from integration_logs_async.fleet._stores import StoreConfig, parse_stores
from integration_logs_async.fleet._unit import harvest_store
from integration_logs_async.sinks import SinkLockedError, StoreKey, open_sink

from .._support.postgres import PASSWORD, PostgresServer
from .._support.store import store_records
from ..harvest._sink_reader import read_store

SMALL = EmulatorConfig(integrations=3, jobs_per_integration=1)
FAST: ClientSettings = {
    "max_attempts": 2,
    "backoff_initial": 0.05,
    "backoff_max": 0.1,
    "connect_timeout": 2.0,
}
"""Client settings: a store whose server is down fails within a second."""


def fleet_of(count: int, logs: int | list[int] = 60, **options: object) -> EmulatorFleet:
    return EmulatorFleet(count, config=SMALL, logs=logs, **options)  # type: ignore[arg-type]


def stores_of(fleet: EmulatorFleet) -> list[StoreConfig]:
    return parse_stores(fleet.stores_toml(rate_limit=0))


def by_store(result: FleetResult) -> dict[str, StoreOutcome]:
    return {o.store: o for o in result.outcomes}


async def check_exactly_once(dsn: str, name: str, emu: Emulator) -> None:
    """The sink holds every log of ``emu`` once for store ``name``, as the server lists it."""
    stored = await read_store(dsn, "sendcloud", name)
    ids = Counter(log.id for log in stored.logs)
    assert [i for i, n in ids.items() if n > 1] == [], "duplicated ids"
    expected = store_records(emu, "sendcloud")
    assert ids.keys() == expected.keys()
    for log in stored.logs:
        assert json.loads(log.raw) == json.loads(expected[log.id])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_fleet_of_three_each_exactly_once_then_only_new_logs(pg_dsn: str) -> None:
    async with fleet_of(3, logs=[40, 70, 100]) as fleet:
        stores, env = stores_of(fleet), fleet.env()
        seen: list[str] = []
        result = await run_fleet(
            stores, pg_dsn, env=env, concurrency=2, on_outcome=lambda o: seen.append(o.store)
        )
        assert result.ok and sorted(seen) == fleet.names
        outcomes = by_store(result)
        for name, emu, count in zip(fleet.names, fleet.emulators, (40, 70, 100), strict=True):
            assert outcomes[name].outcome == "completed" and outcomes[name].error is None
            assert outcomes[name].records == count and outcomes[name].requests > 0
            assert outcomes[name].newest_created_at is not None
            await check_exactly_once(pg_dsn, name, emu)

        fleet.emulators[1].add_logs("sendcloud", 7)
        again = by_store(await run_fleet(stores, pg_dsn, env=env))
        assert {n: o.records for n, o in again.items()} == dict(
            zip(fleet.names, (0, 7, 0), strict=True)
        )
        assert all(o.outcome == "completed" for o in again.values())
        for name, emu in zip(fleet.names, fleet.emulators, strict=True):
            await check_exactly_once(pg_dsn, name, emu)


async def test_refused_credentials_fail_one_store_only(pg_dsn: str) -> None:
    async with fleet_of(3) as fleet:
        stores, env = stores_of(fleet), fleet.env()
        bad = fleet.store(1)
        secret_var = bad.credentials["secret_key"]
        env[secret_var] = "Not-The-Secret-4d2a"
        outcomes = by_store(await run_fleet(stores, pg_dsn, env=env, settings=FAST))
        failed = outcomes[bad.name]
        assert failed.outcome == "failed" and failed.records == 0
        assert failed.error is not None
        assert "refused the credentials" in failed.error and f"${secret_var}" in failed.error
        assert "Not-The-Secret-4d2a" not in failed.error
        for name, emu in zip(fleet.names, fleet.emulators, strict=True):
            if name != bad.name:
                assert outcomes[name].outcome == "completed"
                await check_exactly_once(pg_dsn, name, emu)
        assert (await read_store(pg_dsn, "sendcloud", bad.name)).logs == []

        del env[secret_var]  # not set at all: says which variable to export
        missing = await run_store(stores[1], pg_dsn, env=env)
        assert missing.outcome == "failed" and missing.error is not None
        assert f"${secret_var}" in missing.error and "export it" in missing.error


async def test_server_down_fails_then_completes_once_it_is_up(pg_dsn: str) -> None:
    port = free_port()
    late = Emulator(SMALL, port=port, logs=50, seed=9)
    store = StoreConfig(
        name="late",
        provider="sendcloud",
        base_url=f"http://127.0.0.1:{port}/api/v2",
        credentials={"public_key": "$LATE_PK", "secret_key": "$LATE_SK"},
        rate_limit=0,
    )
    env = {"LATE_PK": late.config.sendcloud_public_key, "LATE_SK": late.config.sendcloud_secret_key}
    async with fleet_of(2) as fleet:
        stores, env = [*stores_of(fleet), store], {**fleet.env(), **env}
        first = by_store(await run_fleet(stores, pg_dsn, env=env, settings=FAST))
        assert first["late"].outcome == "failed" and first["late"].error is not None
        assert "cannot be reached" in first["late"].error
        assert "base_url" in first["late"].error
        assert all(first[n].outcome == "completed" for n in fleet.names)
        async with late:
            second = by_store(await run_fleet(stores, pg_dsn, env=env, settings=FAST))
            assert second["late"].outcome == "completed" and second["late"].records == 50
            assert all(second[n].records == 0 for n in fleet.names)
            await check_exactly_once(pg_dsn, "late", late)


async def test_store_added_to_the_file_is_harvested_whole_the_others_only_new(
    pg_dsn: str,
) -> None:
    async with fleet_of(3, logs=[30, 40, 50]) as fleet:
        stores, env = stores_of(fleet), fleet.env()
        first = await run_fleet(stores[:2], pg_dsn, env=env)
        assert [o.records for o in first.outcomes] == [30, 40]
        fleet.emulators[0].add_logs("sendcloud", 3)
        second = by_store(await run_fleet(stores, pg_dsn, env=env))
        assert {n: o.records for n, o in second.items()} == dict(
            zip(fleet.names, (3, 0, 50), strict=True)
        )
        for name, emu in zip(fleet.names, fleet.emulators, strict=True):
            await check_exactly_once(pg_dsn, name, emu)


async def test_two_fleet_runs_at_once_harvest_every_store_exactly_once(pg_dsn: str) -> None:
    async with fleet_of(4, logs=80, latency=0.01) as fleet:
        stores, env = stores_of(fleet), fleet.env()
        one, two = await asyncio.gather(
            run_fleet(stores, pg_dsn, env=env, concurrency=2),
            run_fleet(list(reversed(stores)), pg_dsn, env=env, concurrency=2),
        )
        a, b = by_store(one), by_store(two)
        for name, emu in zip(fleet.names, fleet.emulators, strict=True):
            kinds = sorted((a[name].outcome, b[name].outcome))
            assert kinds in (["completed", "locked"], ["completed", "completed"]), kinds
            assert a[name].records + b[name].records == 80  # together: each log once
            locked = [o for o in (a[name], b[name]) if o.outcome == "locked"]
            assert all(o.records == 0 and o.error and "another run" in o.error for o in locked)
            await check_exactly_once(pg_dsn, name, emu)


async def test_cancelled_fleet_keeps_committed_batches_and_a_rerun_completes(
    pg_dsn: str,
) -> None:
    async with fleet_of(2, logs=300, latency=0.02) as fleet:
        stores, env = stores_of(fleet), fleet.env()
        stores = [replace(store, page_size=10) for store in stores]
        task = asyncio.create_task(run_fleet(stores, pg_dsn, env=env))
        while not all(emu.requests for emu in fleet.emulators):  # noqa: ASYNC110 - polled
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        rerun = await run_fleet(stores, pg_dsn, env=env)
        assert rerun.ok
        for name, emu in zip(fleet.names, fleet.emulators, strict=True):
            await check_exactly_once(pg_dsn, name, emu)


async def test_sink_refusing_its_password_fails_the_store_without_showing_it(
    postgres: PostgresServer,
) -> None:
    wrong = postgres.wrong_password_dsn(postgres.create_database())
    async with fleet_of(1) as fleet:
        done = await run_store(stores_of(fleet)[0], wrong, env=fleet.env())
    assert done.outcome == "failed" and done.error is not None
    assert "refused the credentials" in done.error
    assert "Wrong-Password-9c1e" not in done.error and PASSWORD not in done.error


async def test_fleet_refuses_a_sink_other_than_postgresql() -> None:
    with pytest.raises(ValueError, match="one writer at a time"):
        await run_fleet([], "duckdb:///tmp/x.duckdb")
    with pytest.raises(ValueError, match="concurrency"):
        await run_fleet([], "postgresql://u@127.0.0.1/db", concurrency=0)


def test_failure_lines() -> None:
    store = StoreConfig(
        name="shop",
        provider="sendcloud",
        credentials={"public_key": "$SHOP_PK", "secret_key": "$SHOP_SK"},
    )
    url = "https://panel.example/api/v2/integrations/7/logs"
    one_integration = FanOutError(
        {"integration 7": NotFoundError(status=404, method="GET", url=url)}
    )
    outcome, line = describe_failure(one_integration, store)
    assert outcome == "incomplete" and "integration 7" in line and "rerun" in line
    outcome, line = describe_failure(SinkLockedError("held"), store)
    assert outcome == "locked" and "nothing was done" in line
    outcome, line = describe_failure(RuntimeError("boom"), store)
    assert outcome == "failed" and "RuntimeError: boom" in line and "report" in line


async def test_harvest_store_is_the_public_unit(pg_dsn: str) -> None:
    async with fleet_of(1, logs=30) as fleet:
        store, env = stores_of(fleet)[0], fleet.env()
        result = await harvest_store(store, pg_dsn, env=env)
        assert result.complete and result.records == 30 and result.store == store.name
        fleet.emulators[0].add_logs("sendcloud", 2)
        again = await harvest_store(store, pg_dsn, env=env)
        assert again.mode == "incremental" and again.records == 2
        await check_exactly_once(pg_dsn, store.name, fleet.emulators[0])
        holder = open_sink(pg_dsn)
        await holder.open(StoreKey(provider="sendcloud", store=store.name, harvest="other"))
        try:
            with pytest.raises(SinkLockedError):
                await harvest_store(store, pg_dsn, env=env)
        finally:
            await holder.close()
        wrong = {**env, fleet.store(0).credentials["secret_key"]: "Not-The-Secret-4d2a"}
        with pytest.raises(AuthenticationError):
            await harvest_store(store, pg_dsn, env=wrong)
