"""``follow_harvest`` (``harvest --follow``) from Python against the emulator: the harvest
completes, then logs added meanwhile are appended exactly once, across cancellations and a
crash between a batch's write and its state save."""

# ruff: noqa: ASYNC240 - small local files in tests

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async.emulator import Emulator, Provider
from integration_logs_async.emulator._sendcloud_v3_bodies import logs_v3
from integration_logs_async.harvest import (
    FollowStatus,
    HarvestOptions,
    follow_harvest,
    load_state,
    run_harvest,
)
from integration_logs_async.harvest._state import save_state as real_save

from .._support.clients import client_for
from .._support.store import store_records
from ._helpers import assert_exactly_once, line_ids, read_lines

SAVE_STATE = "integration_logs_async.harvest._follow.save_state"
INTERVAL = 0.02
"""Seconds between polls: the tests wait for ids in the file, never for time."""

SCOPES = [
    ("sendcloud", "all"),
    ("sendcloud", "integrations"),
    ("elasticpath", "all"),
    ("elasticpath", "integrations"),
    ("elasticpath", "jobs"),
]
SCOPE_IDS = [f"{p[:2]}-{s}" for p, s in SCOPES]


def options(provider: Provider, out: Path, **extra: Any) -> HarvestOptions:
    return HarvestOptions(provider=provider, out=str(out), page_size=20, **extra)


def state_of(out: Path) -> Any:
    state = load_state(Path(str(out) + ".state.json"))
    assert state is not None
    return state


async def wait_for_ids(out: Path, ids: set[str], task: asyncio.Task[Any]) -> None:
    """Until the output holds every id of ``ids`` (at most 20 s; the task must not end)."""
    async with asyncio.timeout(20):
        while True:
            assert not task.done(), task.exception() if not task.cancelled() else "cancelled"
            if out.exists() and ids <= set(line_ids(read_lines_whole(out))):
                return
            await asyncio.sleep(0.01)


def read_lines_whole(out: Path) -> list[bytes]:
    """The complete lines of ``out`` (a line being written may be cut short)."""
    data = out.read_bytes()
    return data[: data.rfind(b"\n") + 1].splitlines(keepends=True)


async def wait_following(status: FollowStatus, task: asyncio.Task[Any]) -> None:
    """Until the harvest completed and the tail made its first poll."""
    async with asyncio.timeout(20):
        while status.tail is None or status.tail.polls < 1:
            assert not task.done(), task.exception() if not task.cancelled() else "cancelled"
            await asyncio.sleep(0.01)


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def start(
    client: Any, opts: HarvestOptions, status: FollowStatus, **extra: Any
) -> asyncio.Task[Any]:
    return asyncio.create_task(
        follow_harvest(client, opts, interval=INTERVAL, status=status, progress=False, **extra)
    )


# --- appending ---------------------------------------------------------------------------


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=120)
@pytest.mark.parametrize(("provider", "scope"), SCOPES, ids=SCOPE_IDS)
async def test_logs_added_while_following_are_appended_exactly_once(
    emulator: Emulator, tmp_path: Path, provider: Provider, scope: str
) -> None:
    out = tmp_path / "logs.jsonl"
    status = FollowStatus()
    async with client_for(emulator, provider) as client:
        task = start(client, options(provider, out, scope=scope), status)
        await wait_following(status, task)
        assert status.harvest is not None and status.harvest.complete
        assert status.harvest.records == 120
        single = emulator.add_logs(provider, 1)
        await wait_for_ids(out, {str(i) for i in single}, task)
        burst = emulator.add_logs(provider, 65)  # more than three pages between two polls
        await wait_for_ids(out, {str(i) for i in burst}, task)
        await stop(task)
    expected = store_records(emulator, provider)
    assert len(expected) == 186
    lines = assert_exactly_once(out, expected)
    assert line_ids(lines[120:]) == [str(i) for i in single + burst]  # appended, oldest first
    assert status.records == 66 and status.batches >= 2
    state = state_of(out)
    assert state.out_bytes == out.stat().st_size and state.records == 186
    assert state.in_progress and state.follow is not None and state.follow.checkpoint
    assert state.follow.records == 66


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=60)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_normalized_lines_of_followed_logs_match_the_harvests(
    emulator: Emulator, tmp_path: Path, provider: Provider
) -> None:
    out = tmp_path / "logs.jsonl"
    status = FollowStatus()
    async with client_for(emulator, provider) as client:
        task = start(client, options(provider, out, format="normalized"), status)
        await wait_following(status, task)
        added = emulator.add_logs(provider, 5)
        await wait_for_ids(out, {str(i) for i in added}, task)
        await stop(task)
    lines = [json.loads(line) for line in read_lines(out)]
    assert len(lines) == 65
    assert {tuple(sorted(line)) for line in lines} == {tuple(sorted(lines[0]))}  # one schema
    assert all(line["integration_id"] for line in lines[60:])


@pytest.mark.emulator(integrations=3, logs=60)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_only_the_harvests_integrations_are_followed(
    emulator: Emulator, tmp_path: Path, provider: Provider
) -> None:
    out = tmp_path / "logs.jsonl"
    owners = sorted(
        {
            json.loads(raw)["integration_id"]
            if provider == "sendcloud"
            else json.loads(raw)["relationships"]["integration"]["data"]["id"]
            for raw in store_records(emulator, provider).values()
        }
    )
    chosen, other = str(owners[0]), owners[1]
    status = FollowStatus()
    async with client_for(emulator, provider) as client:
        opts = options(provider, out, scope="integrations", integration_ids=(chosen,))
        task = start(client, opts, status)
        await wait_following(status, task)
        skipped = emulator.add_logs(provider, 3, other)
        kept = emulator.add_logs(provider, 2, owners[0])
        await wait_for_ids(out, {str(i) for i in kept}, task)
        await stop(task)
    ids = line_ids(read_lines(out))
    assert ids[-2:] == [str(i) for i in kept]
    assert not {str(i) for i in skipped} & set(ids)
    assert status.records == 2


@pytest.mark.emulator(integrations=2, logs=40)
async def test_a_late_log_within_the_lookback_is_appended(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "logs.jsonl"
    status = FollowStatus()
    async with client_for(emulator, "sendcloud") as client:
        task = start(client, options("sendcloud", out, scope="all"), status, lookback=600)
        await wait_following(status, task)
        newest = emulator.add_logs("sendcloud", 1)
        await wait_for_ids(out, {str(newest[0])}, task)
        at = json.loads(store_records(emulator, "sendcloud")[str(newest[0])])["created_at"]
        late_at = _parse(at) - timedelta(seconds=300)
        late = emulator.add_logs("sendcloud", 1, created_at=late_at)
        await wait_for_ids(out, {str(late[0])}, task)
        await stop(task)
    assert_exactly_once(out, store_records(emulator, "sendcloud"))


def _parse(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.emulator(integrations=3, logs=80)
async def test_sendcloud_v3_is_followed(emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "logs.jsonl"
    status = FollowStatus()
    async with emulator.sendcloud_v3_client() as client:
        opts = options("sendcloud", out, api_version=3, integration_ids=())
        task = start(client, opts, status)
        await wait_following(status, task)
        added = emulator.add_logs("sendcloud", 30)
        await wait_for_ids(out, {str(i) for i in added}, task)
        await stop(task)
    expected = {i: logs_v3(raw)[1:-1] for i, raw in store_records(emulator, "sendcloud").items()}
    assert_exactly_once(out, expected)
    assert status.records == 30


# --- stopping and resuming ---------------------------------------------------------------


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=100)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_cancelled_then_rerun_follows_from_its_checkpoint(
    emulator: Emulator, tmp_path: Path, provider: Provider
) -> None:
    out = tmp_path / "logs.jsonl"
    async with client_for(emulator, provider) as client:
        first = FollowStatus()
        task = start(client, options(provider, out), first)
        await wait_following(first, task)
        before = emulator.add_logs(provider, 7)
        await wait_for_ids(out, {str(i) for i in before}, task)
        await stop(task)
        checkpoint = state_of(out).follow.checkpoint
        while_stopped = emulator.add_logs(provider, 25)
        second = FollowStatus()
        task = start(client, options(provider, out), second)
        await wait_following(second, task)
        after = emulator.add_logs(provider, 4)
        await wait_for_ids(out, {str(i) for i in while_stopped + after}, task)
        await stop(task)
    assert checkpoint is not None
    assert_exactly_once(out, store_records(emulator, provider))
    assert second.harvest is not None and second.harvest.mode == "resumed"
    assert second.harvest.records == 25  # the catch-up; the tail then drops them by id
    assert second.records == 4 and second.duplicates >= 25


@pytest.mark.emulator(integrations=3, logs=100)
@pytest.mark.parametrize("scope", ["all", "integrations"])
async def test_an_incremental_run_after_a_follow_starts_after_the_followed_logs(
    emulator: Emulator, tmp_path: Path, scope: str
) -> None:
    out = tmp_path / "logs.jsonl"
    status = FollowStatus()
    async with client_for(emulator, "sendcloud") as client:
        task = start(client, options("sendcloud", out, scope=scope), status)
        await wait_following(status, task)
        added = emulator.add_logs("sendcloud", 12)
        await wait_for_ids(out, {str(i) for i in added}, task)
        await stop(task)
        marks = state_of(out).watermarks
        assert str(added[-1]) in {mark.id for mark in marks.values()}
        later = emulator.add_logs("sendcloud", 3)
        result = await run_harvest(client, options("sendcloud", out, scope=scope), progress=False)
    assert result.complete and result.records == 3 and result.duplicates == 0
    assert_exactly_once(out, store_records(emulator, "sendcloud"))
    assert set(line_ids(read_lines(out))[-3:]) == {str(i) for i in later}
    assert state_of(out).follow.checkpoint  # kept for the next --follow


@pytest.mark.emulator(integrations=3, logs=100)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_a_crash_between_a_batch_and_its_state_save_loses_and_repeats_nothing(
    emulator: Emulator, tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "logs.jsonl"

    def crash_at_the_first_batch(path: Path, state: Any) -> None:
        if state.follow.records > 0:  # the save of the first batch that added records
            raise OSError("simulated crash: the batch is written, the state is not")
        real_save(path, state)

    monkeypatch.setattr(SAVE_STATE, crash_at_the_first_batch)
    async with client_for(emulator, provider) as client:
        status = FollowStatus()
        task = start(client, options(provider, out), status)
        await wait_following(status, task)
        lost = emulator.add_logs(provider, 9)
        with pytest.raises(OSError, match="simulated crash"):
            async with asyncio.timeout(20):
                await task
        saved = state_of(out)
        assert out.stat().st_size > saved.out_bytes  # the batch is past the saved size
        assert saved.follow.records == 0  # the state describes the output before that batch
        monkeypatch.setattr(SAVE_STATE, real_save)
        rerun = FollowStatus()
        task = start(client, options(provider, out), rerun)
        await wait_following(rerun, task)
        more = emulator.add_logs(provider, 2)
        await wait_for_ids(out, {str(i) for i in lost + more}, task)
        await stop(task)
    assert_exactly_once(out, store_records(emulator, provider))


@pytest.mark.emulator(integrations=2, logs=30)
async def test_progress_says_when_following_starts_and_each_batch(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "logs.jsonl"
    status, stream = FollowStatus(), io.StringIO()
    async with client_for(emulator, "sendcloud") as client:
        task = asyncio.create_task(
            follow_harvest(
                client,
                options("sendcloud", out),
                interval=INTERVAL,
                status=status,
                progress_stream=stream,
                progress_interval=60,
            )
        )
        await wait_following(status, task)
        added = emulator.add_logs("sendcloud", 3)
        await wait_for_ids(out, {str(i) for i in added}, task)
        async with asyncio.timeout(20):  # the line comes once the batch's state is saved
            while "follow: +" not in stream.getvalue():
                assert not task.done()
                await asyncio.sleep(0.01)
        await stop(task)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("follow: harvest complete; following Sendcloud ")
    assert "follow: +3 records (3 followed, 33 in file" in stream.getvalue()
    summary = status.summary()
    assert "harvested 30 records" in summary
    assert re.search(r"followed: 3 new records in \d+ batches", summary)
    assert "+0 records" not in stream.getvalue()  # a line per batch that appended


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"interval": 0}, "interval must be more than 0"),
        ({"interval": float("nan")}, "interval must be a finite"),
        ({"lookback": -1}, "lookback must be a finite"),
    ],
)
async def test_bad_follow_settings_are_refused_before_any_request(
    tmp_path: Path, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await follow_harvest(_unused_client(), options("sendcloud", tmp_path / "o.jsonl"), **extra)
    assert not list(tmp_path.iterdir())


async def test_max_items_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--max-items stops the harvest"):
        await follow_harvest(
            _unused_client(), options("sendcloud", tmp_path / "o.jsonl", max_items=5)
        )
    assert not list(tmp_path.iterdir())


def _unused_client() -> Any:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("no request expected")

    class Unused:
        def __getattr__(self, name: str) -> Callable[..., None]:
            return fail

    return Unused()
