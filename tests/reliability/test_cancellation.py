"""Cancellation: a harvest cancelled at 100 random points leaks nothing and loses nothing.

After each cancellation: no task of the client is left running, no connection is left in
use, closing the client closes its connector; the state file always loads and never claims
more output than the file holds. At the end no file descriptor is left open, nothing raised
a ``ResourceWarning`` and a final rerun completes the store exactly once.

The emulator runs on its own thread and event loop, so the test's loop holds only the
client's tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

from integration_logs_async import ClientCredentials, ElasticPathClient, TransportEvent
from integration_logs_async.emulator import EmulatorConfig, FaultConfig
from integration_logs_async.harvest import HarvestOptions, _job, _run, load_state, run_harvest

from .._support.clients import elasticpath
from .._support.emulators import ThreadedEmulator
from .._support.tasks import other_tasks, settle
from ._helpers import assert_exactly_the_store, leftover_temporary_files, open_fds

CANCELS = 100
SEED = 20240601

CONFIG = EmulatorConfig(
    seed=8,
    integrations=4,
    jobs_per_integration=3,
    logs=1_500,
    sendcloud_logs=10,
    faults=FaultConfig(
        seed=3, rates={"latency": 1.0}, latency_seconds=0.001, latency_jitter_seconds=0.003
    ),
)


def _options(out: Path) -> HarvestOptions:
    # Small pages and frequent saves: many awaits, hence many distinct cancellation points.
    return HarvestOptions(
        provider="elasticpath",
        out=str(out),
        scope="jobs",
        concurrency=4,
        page_size=20,
        save_every_records=40,
        save_every_seconds=0.005,
    )


def _check_state(out: Path) -> None:
    """The state file (if any) loads, and the output holds at least what it records."""
    state = load_state(Path(str(out) + ".state.json"))  # ValueError if it were corrupt
    if state is not None:
        assert out.stat().st_size >= state.out_bytes
        assert state.records <= CONFIG.elasticpath_log_count


def _harvest_tasks() -> list[str]:
    """Tasks still running besides a shared token request (the client's: it outlives a
    cancelled caller on purpose, and closing the client stops it) and aiohttp's own request
    writers (they end on the next loop iteration)."""
    left = []
    for task in other_tasks():
        coro = task.get_coro()
        if getattr(coro, "__qualname__", "") == "TokenAuthenticator._refresh":
            continue
        if "/aiohttp/" in getattr(getattr(coro, "cr_code", None), "co_filename", ""):
            continue
        names = [getattr(r, "__qualname__", "") for r in gc.get_referents(coro)]
        left.append(f"{task!r} {names}")
    return sorted(left)


async def test_cancel_a_harvest_at_100_random_points(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    rng = random.Random(SEED)
    numbers = {"cancelled": 0, "completed_first": 0, "cycles": 1}
    started = time.monotonic()
    with ThreadedEmulator(CONFIG) as emu, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        base_fds = open_fds()
        out = tmp_path / "logs-1.jsonl"
        for _ in range(CANCELS):
            client = elasticpath(emu)
            task = asyncio.create_task(run_harvest(client, _options(out), progress=False))
            await asyncio.sleep(rng.uniform(0.0, 0.05))
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                numbers["cancelled"] += 1
            else:  # it finished before the cancellation: check it, start a new harvest
                numbers["completed_first"] += 1
                assert_exactly_the_store(out, emu, "elasticpath")
                numbers["cycles"] += 1
                out = tmp_path / f"logs-{numbers['cycles']}.jsonl"
            assert task.done()
            # run_harvest returns (or raises) only once every child stream has stopped
            assert _harvest_tasks() == [], "tasks still running after the harvest"
            assert not await settle(), "the token request did not finish"
            session = client._transport._session
            if session is not None:
                connector = session.connector
                assert connector is not None and not connector._acquired, "connections in use"
            await client.aclose()
            assert session is None or session.closed
            assert not await settle(), "tasks still running after client.aclose()"
            _check_state(out)

        async with elasticpath(emu) as client:
            result = await run_harvest(client, _options(out), progress=False)
        assert result.complete
        records = assert_exactly_the_store(out, emu, "elasticpath")
        assert leftover_temporary_files(tmp_path) == []

        deadline = time.monotonic() + 3
        while open_fds() > base_fds and time.monotonic() < deadline:
            gc.collect()
            await asyncio.sleep(0.02)
        assert open_fds() <= base_fds
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    never_retrieved = [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert never_retrieved == []
    print(
        f"[cancel] {CANCELS} cancellations in {time.monotonic() - started:.1f} s: "
        f"{numbers['cancelled']} cancelled, {numbers['completed_first']} finished first, "
        f"{numbers['cycles']} harvests, final rerun {result.mode} {result.records} -> "
        f"{records} records exactly once; no task, connection, file descriptor or "
        "ResourceWarning left"
    )


# --- three cancellation points made deterministic -----------------------------------------


async def test_cancelled_harvest_has_stopped_its_streams_when_it_returns(tmp_path: Path) -> None:
    with ThreadedEmulator(CONFIG) as emu:
        requests = 0
        task: asyncio.Task[Any] | None = None

        def cancel_on_the_sixth_request(event: TransportEvent) -> None:
            nonlocal requests
            if event.kind == "request":
                requests += 1
                if requests == 6 and task is not None:
                    task.cancel()

        client = elasticpath(emu, on_event=cancel_on_the_sixth_request)
        task = asyncio.create_task(
            run_harvest(client, _options(tmp_path / "o.jsonl"), progress=False)
        )
        with pytest.raises(asyncio.CancelledError):
            await task
        running = _harvest_tasks()
        await settle()
        await client.aclose()
        assert running == []


async def test_cancel_during_setup_closes_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class SlowSetup(_run._Run):
        def __init__(self, options: HarvestOptions) -> None:
            super().__init__(options)
            time.sleep(0.2)  # e.g. reading the ids of a large existing output

    monkeypatch.setattr(_job, "_Run", SlowSetup)
    with ThreadedEmulator(CONFIG) as emu, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        async with elasticpath(emu) as client:
            task = asyncio.create_task(
                run_harvest(client, _options(tmp_path / "o.jsonl"), progress=False)
            )
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.3)  # the worker thread finishes building the _Run
            gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


# --- the token request of a cancelled or closed client -----------------------------------

EP_TOKEN = "https://useast.api.elasticpath.com/oauth/access_token"


async def test_closing_the_client_stops_its_token_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")

    async def slow_token(url: Any, **_: Any) -> CallbackResult:
        await asyncio.sleep(30)
        return CallbackResult(payload={"access_token": "t", "expires_in": 60})

    with aioresponses() as mock:
        mock.post(EP_TOKEN, callback=slow_token)
        client = ElasticPathClient(ClientCredentials("cid", "secret"), rate_limit=0)
        cancelled = asyncio.create_task(client.logs().collect())
        waiting = asyncio.create_task(client.jobs("i").collect())
        await asyncio.sleep(0.05)  # both wait for the one token request
        cancelled.cancel()
        await asyncio.sleep(0.01)
        assert not waiting.done()  # a cancelled waiter does not cancel the shared request
        started = time.monotonic()
        await client.aclose()
        assert time.monotonic() - started < 1  # the token request was stopped, not awaited
        with pytest.raises(RuntimeError, match="client is closed"):
            # at once, and not a CancelledError: this task was never cancelled
            await asyncio.wait_for(waiting, 2)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert other_tasks() == set()
    del client
    gc.collect()
    assert [r for r in caplog.records if "never retrieved" in r.getMessage()] == []


async def test_a_token_request_failing_after_its_callers_left_is_not_reported_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")

    async def failing_token(url: Any, **_: Any) -> CallbackResult:
        await asyncio.sleep(0.05)
        return CallbackResult(status=503, body="down")

    with aioresponses() as mock:
        mock.post(EP_TOKEN, callback=failing_token)
        client = ElasticPathClient(ClientCredentials("cid", "secret"), rate_limit=0, max_attempts=1)
        caller = asyncio.create_task(client.logs().collect())
        await asyncio.sleep(0.01)
        caller.cancel()  # the only caller leaves; the shared token request goes on, and fails
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert await settle() == set()
        await client.aclose()
    del client, caller
    gc.collect()
    assert [r for r in caplog.records if "never retrieved" in r.getMessage()] == []


async def test_cancelled_fanout_closes_its_listing_streams() -> None:
    """Cancelled while it lists integrations and jobs, a fan-out closes those listings
    before it returns (they are not left to asyncio's finaliser, prefetch running)."""
    with ThreadedEmulator(CONFIG) as emu:
        async with elasticpath(emu) as client:
            await client.logs(max_items=1).collect()  # the token, first
            left: list[str] = []
            for step in range(1, 25):
                fanout = client.logs_by_job(concurrency=4, page_size=10)

                async def consume(fanout: Any = fanout) -> None:
                    async with fanout:
                        async for _ in fanout.pages():
                            await asyncio.sleep(0)

                task = asyncio.create_task(consume())
                await asyncio.sleep(0.002 * step)  # while the jobs are being listed
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                left += _harvest_tasks()
                await settle()
    assert left == []
