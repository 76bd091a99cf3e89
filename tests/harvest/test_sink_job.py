"""The harvest into a sink (``HarvestOptions.to``) with an in-memory sink: batches committed
with their state, resumes after a failed write, incremental reruns, the writer lock, the
integrations, cancellation."""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

import msgspec
import pytest

from integration_logs_async.emulator import Emulator, FaultConfig
from integration_logs_async.harvest import (
    HarvestOptions,
    HarvestResult,
    _sink_job,
    follow_harvest,
    run_harvest,
)
from integration_logs_async.harvest._options import save_interval
from integration_logs_async.harvest._sink_state import (
    SinkState,
    decode_state,
    encode_state,
    harvest_key,
)
from integration_logs_async.sinks import SinkFullError, SinkLockedError, SinkSchemaError, StoreKey

from .._support.clients import client_for
from .._support.store import store_records
from ._helpers import PROVIDERS
from ._sink_helpers import FakeDatabase, install_fake

URL = "postgresql://harvester:secret@db.example/logs"


async def harvest(emu: Emulator, provider: str, **options: Any) -> HarvestResult:
    opts = HarvestOptions(provider=provider, to=options.pop("to", URL), **options)
    async with client_for(emu, provider) as client:
        return await run_harvest(client, opts, progress=False)


def only_state(db: FakeDatabase) -> tuple[StoreKey, SinkState]:
    (key, blob), *others = db.states.items()
    assert not others, db.states.keys()
    return key, decode_state(blob, "test")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("unique", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=120)
async def test_full_harvest_writes_every_log_once_with_integrations(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, provider: str, unique: bool
) -> None:
    db = FakeDatabase(unique=unique)
    install_fake(monkeypatch, db)
    result = await harvest(emulator, provider, page_size=10, save_every_records=25)
    key, state = only_state(db)
    expected = store_records(emulator, provider)
    rows = db.store_rows(key.provider, key.store)
    assert {i: row[-1] for i, row in rows.items()} == expected  # raw bytes, each id once
    assert result.records == len(expected) == result.records_in_file == state.records
    assert result.complete and result.mode == "fresh" and result.state is None
    assert result.out == "postgresql://harvester@db.example/logs"  # no password
    assert result.store == key.store and "secret" not in key.store
    assert key.provider == provider and key.harvest == harvest_key(
        HarvestOptions(provider=provider, to=URL)
    )
    assert not state.in_progress and state.checkpoint is None and state.watermarks
    assert db.writes >= 120 // 25  # batches, not one write at the end
    assert db.locks == set() and db.closed == db.opened == 1
    # failures join to shop names: every log's integration is in the integrations table
    names = {k[2]: row[3] for k, row in db.integrations.items()}
    assert len(names) == 3 and all(names.values())
    assert {row[3] for row in rows.values()} <= names.keys()
    assert all(row[5] is not None for row in rows.values())  # created_at normalized
    assert f"-> {result.out} [complete]" in result.summary()
    assert f"rows written by this harvest {len(expected)} (store {key.store})" in result.summary()


@pytest.mark.parametrize("unique", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.emulator(integrations=2, jobs_per_integration=2, logs=150)
async def test_failed_write_then_rerun_completes_exactly_once(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, unique: bool
) -> None:
    db = FakeDatabase(unique=unique, fail_after=2)
    install_fake(monkeypatch, db)
    options: dict[str, Any] = {"page_size": 10, "save_every_records": 20, "scope": "jobs"}
    with pytest.raises(SinkFullError):
        await harvest(emulator, "elasticpath", **options)
    assert db.locks == set() and db.closed == 1  # closed after the failure
    key, state = only_state(db)
    assert state.in_progress and state.checkpoint is not None
    assert state.records == len(db.rows) > 0  # the state covers exactly the committed rows
    db.fail_after = None
    result = await harvest(emulator, "elasticpath", **options)
    assert result.mode == "resumed" and result.complete
    rows = db.store_rows(key.provider, key.store)
    assert {i: row[-1] for i, row in rows.items()} == store_records(emulator, "elasticpath")
    _, state = only_state(db)
    assert state.records == 150 == result.records_in_file
    assert result.records + (150 - result.records) == 150 and result.records < 150


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.emulator(integrations=2, jobs_per_integration=2, logs=80)
async def test_incremental_rerun_adds_only_new_logs(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    await harvest(emulator, provider, page_size=10)
    emulator.add_logs(provider, 7)  # type: ignore[arg-type]
    emulator.reset_stats()
    result = await harvest(emulator, provider, page_size=10)
    assert result.mode == "incremental" and result.records == 7 and result.complete
    key, state = only_state(db)
    assert state.run == 2 and state.last_run_records == 7 and state.records == 87
    rows = db.store_rows(key.provider, key.store)
    assert {i: row[-1] for i, row in rows.items()} == store_records(emulator, provider)
    assert result.pages <= 3  # stopped at the watermarks, not a full re-read


@pytest.mark.emulator(integrations=2, logs=40)
async def test_store_option_and_another_scope_keep_their_own_states(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    await harvest(emulator, "sendcloud", store="shop-a")
    result = await harvest(emulator, "sendcloud", store="shop-a", scope="all")
    assert result.mode == "fresh" and result.records == 0 and result.duplicates == 40
    # the state counts the rows really inserted (none: all 40 were there), not those handed over
    assert result.records_in_file == 0
    (all_state,) = [v for k, v in db.states.items() if k.harvest.startswith("all:")]
    assert decode_state(all_state, "test").records == 0
    await harvest(emulator, "sendcloud", store="shop-b")
    assert {(k.store, k.harvest.split(":")[0]) for k in db.states} == {
        ("shop-a", "integrations"),
        ("shop-a", "all"),
        ("shop-b", "integrations"),
    }
    assert (
        len(db.store_rows("sendcloud", "shop-a")) == 40 == len(db.store_rows("sendcloud", "shop-b"))
    )


@pytest.mark.emulator(integrations=2, logs=30)
async def test_locked_store_fails_at_once_and_leaves_the_lock(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    first = await harvest(emulator, "sendcloud", store="s")
    assert first.complete
    db.locks.add(("sendcloud", "s"))  # another harvest of the store holds it
    emulator.reset_stats()
    with pytest.raises(SinkLockedError, match="another harvest of store 's'"):
        await harvest(emulator, "sendcloud", store="s")
    assert ("sendcloud", "s") in db.locks  # not released by the refused run
    assert emulator.requests == []  # refused before the first request


@pytest.mark.emulator(integrations=2, logs=30)
async def test_unreadable_state_is_a_schema_error_and_nothing_is_written(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    key = StoreKey("sendcloud", "s", harvest_key(HarvestOptions(provider="sendcloud", to=URL)))
    db.states[key] = b'{"not": "a state"}'
    with pytest.raises(
        SinkSchemaError, match=re.escape("store 's' in postgresql://harvester@db.example")
    ):
        await harvest(emulator, "sendcloud", store="s")
    assert not db.rows and db.states[key] == b'{"not": "a state"}' and not db.locks


def test_state_blob_round_trip() -> None:
    state = SinkState(
        harvest="all:abc",
        provider="elasticpath",
        scope="jobs",
        integration_ids=["a", "b"],
        api_version=2,
        checkpoint="cp",
        since="2024-01-01T00:00:00+00:00",
        records=5,
    )
    blob = encode_state(state)
    assert decode_state(blob, "x") == state
    assert msgspec.json.decode(blob)["checkpoint"] == "cp"
    with pytest.raises(ValueError, match="newer integration-logs"):
        decode_state(encode_state(msgspec.structs.replace(state, version=99)), "x")


def test_harvest_key_is_stable_and_ignores_since_and_order() -> None:
    a = HarvestOptions(provider="elasticpath", to=URL, scope="jobs", integration_ids=("b", "a"))
    b = HarvestOptions(provider="elasticpath", to=URL, scope="jobs", integration_ids=("a", "b"))
    assert harvest_key(a) == harvest_key(b) == "jobs:" + harvest_key(a).split(":")[1]
    assert harvest_key(a) != harvest_key(HarvestOptions(provider="elasticpath", to=URL))
    v3 = HarvestOptions(provider="sendcloud", to=URL, api_version=3)
    assert harvest_key(v3) != harvest_key(HarvestOptions(provider="sendcloud", to=URL))


@pytest.mark.emulator(
    integrations=2, logs=30, faults=FaultConfig(schedule={1: "server_error"}, seed=1)
)
async def test_integrations_listing_failure_keeps_the_log_harvest(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    opts = HarvestOptions(provider="sendcloud", to=URL, store="s")
    async with client_for(emulator, "sendcloud", max_attempts=1) as client:
        result = await run_harvest(client, opts, progress=False)
    assert result.complete and result.records == 30 and not db.integrations
    assert any("integrations could not be listed" in note for note in result.notes)
    assert "note: the integrations could not be listed" in result.summary()


@pytest.mark.emulator(integrations=2, jobs_per_integration=2, logs=100)
async def test_cancelled_inside_a_write_commits_nothing_of_it_and_closes(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase(block_after=1)
    install_fake(monkeypatch, db)
    task = asyncio.create_task(
        harvest(emulator, "elasticpath", store="s", page_size=10, save_every_records=20)
    )
    await asyncio.wait_for(db.blocked.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert db.writes == 1 and db.closed == 1 and not db.locks
    _, state = only_state(db)
    assert state.records == len(db.rows) and state.in_progress
    db.block_after = None
    result = await harvest(emulator, "elasticpath", store="s", page_size=10)
    assert result.mode == "resumed" and result.complete
    rows = db.store_rows("elasticpath", "s")
    assert {i: row[-1] for i, row in rows.items()} == store_records(emulator, "elasticpath")


@pytest.mark.emulator(integrations=2, logs=60)
async def test_max_items_stops_in_progress_and_a_rerun_continues(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    first = await harvest(emulator, "sendcloud", store="s", max_items=25, page_size=10)
    assert not first.complete and first.stopped_at_max_items and first.records == 25
    assert "rerun with the same --to and --store to continue" in first.summary()
    rest = await harvest(emulator, "sendcloud", store="s", page_size=10)
    assert rest.mode == "resumed" and rest.complete and rest.records == 35
    assert len(db.store_rows("sendcloud", "s")) == 60


@pytest.mark.emulator(integrations=2, logs=60)
async def test_since_is_honoured_and_an_earlier_since_reads_again(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    async with client_for(emulator, "sendcloud") as client:
        times = sorted(
            [r.created_at async for r in client.logs().raw() if r.created_at is not None]
        )
    middle = times[len(times) // 2]
    first = await harvest(emulator, "sendcloud", store="s", since=middle)
    wanted = set(store_records(emulator, "sendcloud"))
    rows = db.store_rows("sendcloud", "s")
    assert first.complete and 0 < len(rows) < len(wanted)
    assert all(row[5] is not None and row[5] >= middle for row in rows.values())
    _, state = only_state(db)
    assert state.since == middle.isoformat()
    again = await harvest(emulator, "sendcloud", store="s", since=times[0])
    assert again.mode == "incremental" and any("reaches further back" in n for n in again.notes)
    assert again.records == len(wanted) - len(rows)
    assert db.store_rows("sendcloud", "s").keys() == wanted


@pytest.mark.emulator(integrations=2, logs=10)
async def test_a_client_of_another_provider_is_refused_before_the_sink_opens(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    async with client_for(emulator, "elasticpath") as client:
        with pytest.raises(ValueError, match="pass a SendcloudClient"):
            await run_harvest(client, HarvestOptions(provider="sendcloud", to=URL), progress=False)
    assert db.opened == 0


@pytest.mark.emulator(integrations=2, logs=10)
async def test_follow_into_a_sink_is_refused(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    async with client_for(emulator, "sendcloud") as client:
        with pytest.raises(ValueError, match="database sinks are harvested without --follow"):
            await follow_harvest(client, HarvestOptions(provider="sendcloud", to=URL))
    assert db.opened == 0 and emulator.requests == []


@pytest.mark.emulator(integrations=2, logs=120)
async def test_batches_are_the_sinks_own_size_unless_save_every_is_given(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = FakeDatabase(batch_records=30)
    install_fake(monkeypatch, db)
    await harvest(emulator, "sendcloud", page_size=10, save_every_seconds=3600.0)
    *full, last = [size for size in db.batch_sizes if size]
    assert full and all(30 <= size < 40 for size in full), db.batch_sizes  # at page ends
    assert sum(full) + last == len(store_records(emulator, "sendcloud"))

    told = FakeDatabase(batch_records=30)
    install_fake(monkeypatch, told)
    await harvest(
        emulator,
        "sendcloud",
        store="other",
        page_size=10,
        save_every_records=50,
        save_every_seconds=3600.0,
    )
    assert all(50 <= size < 60 for size in told.batch_sizes[:-1] if size), told.batch_sizes


def test_save_interval_is_the_setting_give_or_take_a_quarter() -> None:
    random.seed(11)
    draws = [save_interval(2.0) for _ in range(400)]
    assert all(1.5 <= draw <= 2.5 for draw in draws)
    assert min(draws) < 1.6 and max(draws) > 2.4  # spread over the whole range
    assert save_interval(0.0) == 0.0


@pytest.mark.emulator(integrations=2, jobs_per_integration=1, logs=60)
async def test_time_based_saves_are_drawn_anew_after_each_save(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each save draws the time to the next one (``save_interval``): a zero draw saves after
    every page, a never-ending one only at the end."""
    draws = iter([0.0, 0.0, 0.0] + [3600.0] * 100)
    seen: list[float] = []

    def drawn(seconds: float) -> float:
        seen.append(seconds)
        return next(draws)

    monkeypatch.setattr(_sink_job, "save_interval", drawn)
    db = FakeDatabase()
    install_fake(monkeypatch, db)
    await harvest(emulator, "sendcloud", page_size=10, save_every_seconds=7.0)
    assert seen[0] == 7.0 and set(seen) == {7.0}
    # the first draw (before any save) and three zero draws: three saves after pages, the
    # last draw never reached, then the final save
    assert db.writes == 3 + 1
    assert len(seen) == 3 + 1 + 1
