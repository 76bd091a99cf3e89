"""Bounded fan-out against the emulator: order, limits, teardown, failures, resume."""

from __future__ import annotations

import asyncio
import base64
import gc
import itertools
import json
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest

from integration_logs_async import (
    ElasticPathClient,
    ElasticPathIntegrationLog,
    FanOutError,
    FanOutStream,
    NotFoundError,
    SendcloudIntegrationLog,
    Source,
)
from integration_logs_async._constants import FANOUT_DECODE_AHEAD
from integration_logs_async._fanout import StreamFactory
from integration_logs_async._http._body_buffers import BodyBuffers
from integration_logs_async.emulator import Emulator

from .._support.clients import client_for, elasticpath, sendcloud
from .._support.emulators import ThreadedEmulator
from .._support.store import child_ids, store_ids
from .._support.tasks import other_tasks, settle
from ._helpers import LATENCY

# (provider, fan-out method)
KINDS = [
    ("sendcloud", "logs_for_integrations"),
    ("elasticpath", "logs_for_integrations"),
    ("elasticpath", "logs_by_job"),
]
KIND_IDS = ["sc-integrations", "ep-integrations", "ep-jobs"]

BOGUS = {"sendcloud": "987654321", "elasticpath": "00000000-0000-4000-8000-000000000000"}


def fanout_of(
    client: Any, method: str, ids: list[str] | None = None, **kw: Any
) -> FanOutStream[Any]:
    return getattr(client, method)(ids, **kw)  # type: ignore[no-any-return]


def integration_ids(emu: Emulator, provider: str) -> list[str]:
    if provider == "sendcloud":
        return [str(i) for i in emu.store.sendcloud_integration_ids]
    return list(emu.store.elasticpath_integration_ids)


def expected_children(
    emu: Emulator, provider: str, method: str
) -> dict[tuple[str, str | None], list[str]]:
    """(integration, job) -> that child's ids in listing order."""
    children: dict[tuple[str, str | None], list[str]] = {}
    for ident in integration_ids(emu, provider):
        if method == "logs_by_job":
            for job in emu.store.jobs(ident):
                children[(ident, job)] = child_ids(emu, provider, ident, job)
        else:
            children[(ident, None)] = child_ids(emu, provider, ident)
    return children


def record_owner(record: Any, method: str) -> tuple[str, str | None]:
    owner = str(record.integration_id)
    return owner, (str(record.job_id) if method == "logs_by_job" else None)


# --- order -------------------------------------------------------------------------------


@pytest.mark.emulator(integrations=4, jobs_per_integration=3, logs=400, faults=LATENCY)
@pytest.mark.parametrize(("provider", "method"), KINDS, ids=KIND_IDS)
async def test_records_keep_each_childs_order(
    emulator: Emulator, provider: str, method: str
) -> None:
    expected = expected_children(emulator, provider, method)
    async with client_for(emulator, provider) as client:
        seen: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        order: list[tuple[str, str | None]] = []
        async for log in fanout_of(client, method, concurrency=3, page_size=9):
            owner = record_owner(log, method)
            seen[owner].append(str(log.id))
            order.append(owner)
        assert dict(seen) == {k: v for k, v in expected.items() if v}
        # children interleave (several ran at once), yet each kept its own order
        switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
        assert switches > len(seen)

        by_source: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        async for sourced in fanout_of(client, method, concurrency=3, page_size=9).pages():
            src = sourced.source
            assert sourced.page.items, "empty pages are not passed on"
            key = (str(src.integration_id), src.job_id)
            by_source[key].extend(str(x.id) for x in sourced.page.items)
            assert src.label.startswith(f"integration {src.integration_id}")
        assert dict(by_source) == {k: v for k, v in expected.items() if v}


# --- concurrency limit -------------------------------------------------------------------


@pytest.mark.emulator(integrations=6, jobs_per_integration=3, logs=360, faults=LATENCY)
@pytest.mark.parametrize(("provider", "method"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("limit", [1, 3])
async def test_never_more_than_concurrency_requests_in_flight(
    emulator: Emulator, provider: str, method: str, limit: int
) -> None:
    async with client_for(emulator, provider) as client:
        emulator.reset_stats()
        fanout = fanout_of(client, method, concurrency=limit, page_size=10)
        records = await fanout.collect()
    assert len(records) == 360
    assert emulator.max_in_flight <= limit, "more requests in flight than the concurrency"
    assert fanout.max_running == limit  # the limit is reached (6+ children) and never passed
    if limit > 1:
        assert emulator.max_in_flight >= 2  # requests did overlap


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=150, faults=LATENCY)
async def test_prefetching_client_still_bounded_but_single_listing_may_prefetch(
    emulator: Emulator,
) -> None:
    """Children do not prefetch (the client's prefetch_pages applies to plain streams only)."""
    async with elasticpath(emulator, prefetch_pages=4) as client:
        emulator.reset_stats()
        assert len(await client.logs_by_job(concurrency=2, page_size=5).collect()) == 150
        assert emulator.max_in_flight <= 2
        emulator.reset_stats()
        assert len(await client.logs(page_size=5).collect()) == 150
        assert emulator.max_in_flight > 1  # a plain stream still fetches ahead


# --- bounded buffer ----------------------------------------------------------------------


@pytest.mark.emulator(integrations=3, jobs_per_integration=3, logs=600)
@pytest.mark.parametrize("buffer_pages", [1, 3])
async def test_merge_buffer_is_bounded_while_the_consumer_stalls(
    emulator: Emulator, buffer_pages: int
) -> None:
    async with elasticpath(emulator) as client:
        jobs = [
            (i, j)
            for i in emulator.store.elasticpath_integration_ids
            for j in emulator.store.jobs(i)
        ]

        def factory(ident: str, job: str) -> StreamFactory:
            return lambda cp: client.job_logs(ident, job, page_size=5, resume_from=cp)

        async def sources() -> AsyncIterator[tuple[Source, StreamFactory]]:
            for ident, job in jobs:
                yield Source(f"job {job}", integration_id=ident, job_id=job), factory(ident, job)

        def log_requests() -> int:
            return sum(1 for r in emulator.requests if r.path.endswith("/logs"))

        emulator.reset_stats()
        fanout: FanOutStream[Any] = FanOutStream(
            "test:jobs", sources, concurrency=2, buffer_pages=buffer_pages
        )
        pages = fanout.pages()
        first = await anext(pages)
        assert len(first.page.items) == 5
        await asyncio.sleep(0.3)  # a stalled consumer: children fill the buffer, then wait
        fetched = log_requests()
        # consumed + waiting in the buffer + one page held by each blocked child
        assert fetched <= 1 + buffer_pages + 2
        await asyncio.sleep(0.2)
        assert log_requests() == fetched, "children kept fetching although nobody consumed"
        total = len(first.page.items)
        async for sourced in pages:
            total += len(sourced.page.items)
        assert total == 600
        assert fanout.max_running == 2


# --- early stop, cancellation ------------------------------------------------------------


def started_after(emu: Emulator, moment: float) -> list[str]:
    """Paths of requests the emulator received after ``moment`` (plus time in transit)."""
    return [r.path for r in emu.requests if r.started > moment + 0.05]


@pytest.mark.parametrize(("provider", "method"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("how", ["async-with", "aclose", "plain-break"])
async def test_early_break_releases_everything(provider: str, method: str, how: str) -> None:
    async with ThreadedEmulator(
        integrations=5, jobs_per_integration=3, logs=700, faults=LATENCY
    ) as emu:
        all_ids = store_ids(emu, provider)
        async with client_for(emu, provider) as client:
            fanout = fanout_of(client, method, concurrency=4, page_size=10)
            taken: list[str] = []
            if how == "async-with":
                async with fanout:
                    async for log in fanout:
                        taken.append(str(log.id))
                        if len(taken) == 57:
                            break
            else:
                async for log in fanout:
                    taken.append(str(log.id))
                    if len(taken) == 57:
                        break
                if how == "aclose":
                    await fanout.aclose()
            stopped, sent = time.monotonic(), client.stats.requests
            if how == "plain-break":
                # every child was cancelled when the iterator was dropped; asyncio finishes
                # the clean-up within a few iterations
                await settle()
            assert other_tasks() == set(), "tasks left running after the fan-out stopped"
            await asyncio.sleep(0.15)
            assert client.stats.requests == sent, "requests were sent after the break"
            assert started_after(emu, stopped) == []
            assert fanout.consumed == 57
            # the checkpoint of a stopped fan-out continues exactly after the 57
            rest = await fanout_of(
                client, method, concurrency=4, page_size=10, resume_from=fanout.checkpoint
            ).collect()
        assert other_tasks() == set()
        gc.collect()
    together = taken + [str(x.id) for x in rest]
    assert sorted(together) == sorted(all_ids) and len(set(together)) == len(together)


@pytest.mark.parametrize(("provider", "method"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("closing", [True, False], ids=["async-with", "bare"])
async def test_cancelling_the_consumer_cancels_every_child(
    provider: str, method: str, closing: bool
) -> None:
    async with (
        ThreadedEmulator(integrations=5, jobs_per_integration=3, logs=700, faults=LATENCY) as emu,
        client_for(emu, provider) as client,
    ):
        fanout = fanout_of(client, method, concurrency=4, page_size=10)
        count = 0
        reached = asyncio.Event()

        async def consume() -> None:
            nonlocal count
            async for _ in fanout:
                count += 1
                if count == 40:
                    reached.set()
                await asyncio.sleep(0.001)  # cancelled here: outside the fan-out's code

        async def consume_closing() -> None:
            async with fanout:
                await consume()

        task = asyncio.create_task(consume_closing() if closing else consume())
        await asyncio.wait_for(reached.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        stopped, sent = time.monotonic(), client.stats.requests
        if not closing:
            await settle()
        assert other_tasks() == set()
        await asyncio.sleep(0.15)
        assert client.stats.requests == sent
        assert started_after(emu, stopped) == []
        assert count < 700


# --- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_one_failing_child_cancels_the_rest_and_is_named(provider: str) -> None:
    async with ThreadedEmulator(integrations=4, logs=400, faults=LATENCY) as emulator:
        await _one_failing_child(emulator, provider)


async def _one_failing_child(emulator: Emulator, provider: str) -> None:
    good = integration_ids(emulator, provider)
    ids = [good[0], BOGUS[provider], *good[1:]]
    async with client_for(emulator, provider) as client:
        fanout = client.logs_for_integrations(ids, concurrency=2, page_size=5)
        with pytest.raises(FanOutError) as caught:
            async for _ in fanout:
                pass
        assert other_tasks() == set()
        label = f"integration {BOGUS[provider]}"
        assert list(caught.value.failures) == [label]
        assert isinstance(caught.value.failures[label], NotFoundError)
        assert label in str(caught.value) and "404" in str(caught.value)
        assert isinstance(caught.value.__cause__, NotFoundError)
        assert fanout.consumed < 400  # the others were cancelled, not read to the end
        sent = client.stats.requests
        await asyncio.sleep(0.1)
        assert client.stats.requests == sent
        # logs_by_job: the unknown integration fails while listing its jobs
        if provider == "elasticpath":
            assert isinstance(client, ElasticPathClient)
            with pytest.raises(FanOutError) as caught:
                await client.logs_by_job(ids, concurrency=2).collect()
            ((label, error),) = caught.value.failures.items()
            assert isinstance(error, NotFoundError) and BOGUS[provider] in str(caught.value)


@pytest.mark.emulator(integrations=4, logs=300, faults=LATENCY)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_collect_mode_keeps_going_and_resume_retries_the_failed(
    emulator: Emulator, provider: str
) -> None:
    good = integration_ids(emulator, provider)
    ids = [good[0], BOGUS[provider], *good[1:]]
    async with client_for(emulator, provider) as client:
        fanout = client.logs_for_integrations(ids, concurrency=2, page_size=7, on_error="collect")
        records = await fanout.collect()
        assert sorted(str(r.id) for r in records) == sorted(store_ids(emulator, provider))
        assert list(fanout.failures) == [f"integration {BOGUS[provider]}"]
        assert isinstance(fanout.failures[f"integration {BOGUS[provider]}"], NotFoundError)
        emulator.reset_stats()
        again = client.logs_for_integrations(
            ids, concurrency=2, page_size=7, on_error="collect", resume_from=fanout.checkpoint
        )
        assert await again.collect() == []
        assert list(again.failures) == [f"integration {BOGUS[provider]}"]
        paths = {r.path for r in emulator.requests if r.category == "data"}
        assert paths == {p for p in paths if BOGUS[provider] in p}  # only the failed one again


# --- composite checkpoints ---------------------------------------------------------------


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=150)
@pytest.mark.parametrize(("provider", "method"), KINDS, ids=KIND_IDS)
async def test_resume_at_many_points_gives_the_exact_remainder(
    emulator: Emulator, provider: str, method: str
) -> None:
    every = store_ids(emulator, provider)
    kw: dict[str, Any] = {"concurrency": 2, "page_size": 7}
    token: str | None
    async with client_for(emulator, provider) as client:
        for cut in (0, 1, 6, 7, 8, 13, 14, 61, 100, 149, 150):
            first = fanout_of(client, method, **kw)
            head: list[str] = []
            async with first:
                if cut:
                    async for log in first:
                        head.append(str(log.id))
                        if len(head) == cut:
                            break
            token = first.checkpoint
            tail = [
                str(x.id)
                for x in await fanout_of(client, method, resume_from=token, **kw).collect()
            ]
            together = head + tail
            assert len(together) == len(set(together)) == 150, f"cut {cut}"
            assert set(together) == set(every), f"cut {cut}"

        # a chain of resumes with random stops (records and pages), each from the last token
        rng = random.Random(5)
        token = None
        got: list[str] = []
        while True:
            fanout = fanout_of(client, method, resume_from=token, **kw)
            want = rng.randint(1, 40)
            async with fanout:
                if rng.random() < 0.3:
                    async for sourced in fanout.pages():
                        got.extend(str(x.id) for x in sourced.page.items)
                        if fanout.consumed >= want:
                            break
                else:
                    async for log in fanout:
                        got.append(str(log.id))
                        if fanout.consumed == want:
                            break
            if fanout.consumed == 0:
                break
            token = fanout.checkpoint
        assert Counter(got) == Counter(every)


@pytest.mark.emulator(integrations=3, jobs_per_integration=2, logs=150)
@pytest.mark.parametrize(("provider", "method"), KINDS, ids=KIND_IDS)
async def test_max_items(emulator: Emulator, provider: str, method: str) -> None:
    every = store_ids(emulator, provider)
    async with client_for(emulator, provider) as client:
        emulator.reset_stats()
        assert await fanout_of(client, method, max_items=0).collect() == []
        assert emulator.requests == []
        fanout = fanout_of(client, method, concurrency=2, page_size=7, max_items=23)
        head = [str(x.id) for x in await fanout.collect()]
        assert len(head) == fanout.consumed == 23
        paged = fanout_of(client, method, concurrency=2, page_size=7, max_items=23)
        assert sum([len(p.page.items) async for p in paged.pages()]) == 23
        rest = fanout_of(client, method, concurrency=2, page_size=7, resume_from=fanout.checkpoint)
        tail = [str(x.id) for x in await rest.collect()]
    assert Counter(head + tail) == Counter(every)


# --- decoding just in time (``_decode_gate.py``) -----------------------------------------


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count every body the transports decode (pages and token responses); [count]."""
    decoded = [0]
    decode = BodyBuffers.decode

    def counting(self: BodyBuffers, body: Any, fn: Any) -> Any:
        decoded[0] += 1
        return decode(self, body, fn)

    monkeypatch.setattr(BodyBuffers, "decode", counting)
    return decoded


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_children_fetch_ahead_but_decode_only_shortly_before_they_are_consumed(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ThreadedEmulator(integrations=4, logs=400, faults=LATENCY) as emulator:
        ids = integration_ids(emulator, provider)
        decoded = count_decodes(monkeypatch)

        def fetched() -> int:
            return sum(1 for r in emulator.requests if r.category == "data")

        async with client_for(emulator, provider) as client:
            fanout = client.logs_for_integrations(ids, concurrency=4, page_size=5)
            records: AsyncIterator[SendcloudIntegrationLog | ElasticPathIntegrationLog]
            records = aiter(fanout)
            taken = [str((await anext(records)).id) for _ in range(5)]  # the first page
            # A stalled consumer: each of the 4 children fetches its next body and waits with
            # it, while at most two pages are decoded ahead (the merge buffer would hold 8).
            ahead = 1 + FANOUT_DECODE_AHEAD + 4
            for _ in range(400):
                if fetched() >= ahead:
                    break
                await asyncio.sleep(0.025)
            await asyncio.sleep(0.1)
            assert fetched() == ahead
            pages_decoded = decoded[0] - client.stats.token_requests
            assert pages_decoded == 1 + FANOUT_DECODE_AHEAD
            assert len(other_tasks()) >= 4, "the children should be waiting"
            # stopping now cancels the children waiting to decode, and loses nothing
            await fanout.aclose()
            assert other_tasks() == set()
            rest = await client.logs_for_integrations(
                ids, concurrency=4, page_size=5, resume_from=fanout.checkpoint
            ).collect()
        together = taken + [str(r.id) for r in rest]
        assert Counter(together) == Counter(store_ids(emulator, provider))


@pytest.mark.emulator(integrations=4, logs=200, faults=LATENCY)
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_waiting_for_a_slow_consumer_does_not_count_against_request_deadline(
    emulator: Emulator, provider: str
) -> None:
    ids = integration_ids(emulator, provider)
    async with client_for(emulator, provider, request_deadline=0.5, max_attempts=1) as client:
        fanout = client.logs_for_integrations(ids, concurrency=4, page_size=10)
        got: list[str] = []
        async for sourced in fanout.pages():
            got += [str(r.id) for r in sourced.page.items]
            if len(got) == 10:
                await asyncio.sleep(1.2)  # children wait to decode for more than the deadline
        assert client.stats.retries == 0 and set(client.stats.statuses) == {200}
    assert Counter(got) == Counter(store_ids(emulator, provider))


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_collect_mode_with_a_slow_consumer_delivers_every_good_child(provider: str) -> None:
    async with ThreadedEmulator(integrations=4, logs=300, faults=LATENCY) as emulator:
        good = integration_ids(emulator, provider)
        ids = [good[0], BOGUS[provider], *good[1:]]
        async with client_for(emulator, provider) as client:
            fanout = client.logs_for_integrations(
                ids, concurrency=3, page_size=7, on_error="collect"
            )
            got: list[str] = []
            async for sourced in fanout.pages():
                got += [str(r.id) for r in sourced.page.items]
                await asyncio.sleep(0.005)  # slower than the children: they wait to decode
            assert list(fanout.failures) == [f"integration {BOGUS[provider]}"]
            assert other_tasks() == set()
        assert Counter(got) == Counter(store_ids(emulator, provider))


# --- FanOutStream with custom sources ----------------------------------------------------


async def test_custom_sources_raw_stop_when_and_listing_failure() -> None:
    async with ThreadedEmulator(integrations=3, logs=90) as emulator:
        await _custom_sources(emulator)


async def _custom_sources(emulator: Emulator) -> None:
    ids = [str(i) for i in emulator.store.sendcloud_integration_ids]
    async with sendcloud(emulator) as client:

        def factory(ident: str) -> StreamFactory:
            return lambda cp: client.integration_logs(ident, page_size=4, resume_from=cp)

        async def sources() -> AsyncIterator[tuple[Source, StreamFactory]]:
            for ident in ids:
                yield Source(f"sc {ident}", integration_id=ident), factory(ident)

        # raw records, the server's bytes
        raw = await FanOutStream("test:sc", sources, concurrency=2).raw().collect()
        store = {
            str(i): b
            for i, b in zip(
                emulator.store.sendcloud_logs.ids(), emulator.store.sendcloud_logs, strict=True
            )
        }
        assert {r.id: r.raw for r in raw} == store

        # stop_when ends each child before the first record it matches
        keep = {ident: child_ids(emulator, "sendcloud", ident)[:5] for ident in ids}

        def stop(source: Source, record: Any) -> bool:
            return str(record.id) not in keep[str(source.integration_id)]

        stopped = await FanOutStream[SendcloudIntegrationLog](
            "test:sc", sources, concurrency=3, stop_when=stop
        ).collect()
        assert sorted(str(r.id) for r in stopped) == sorted(i for v in keep.values() for i in v)

        # the listing of children fails midway: named as such
        async def failing() -> AsyncIterator[tuple[Source, StreamFactory]]:
            yield Source(f"sc {ids[0]}", integration_id=ids[0]), factory(ids[0])
            raise RuntimeError("listing broke")

        with pytest.raises(FanOutError, match=r"^listing the fan-out.s streams: listing broke$"):
            await FanOutStream("test:sc", failing, concurrency=2).collect()
        assert other_tasks() == set()

        # checkpoints are bound to their fan-out; a stream is iterated once
        fanout = FanOutStream[SendcloudIntegrationLog](
            "test:sc", sources, concurrency=2, max_items=3
        )
        await fanout.collect()
        with pytest.raises(RuntimeError, match="already iterated"):
            await fanout.collect()
        with pytest.raises(ValueError, match="belongs to fan-out"):
            FanOutStream("test:other", sources, concurrency=2, resume_from=fanout.checkpoint)
        with pytest.raises(ValueError, match="not a valid fan-out checkpoint"):
            FanOutStream("test:sc", sources, concurrency=2, resume_from="garbage!")

        # a child position that child's stream refuses: that child fails, and is named
        state = json.loads(base64.urlsafe_b64decode(fanout.checkpoint + "=="))
        ((label, _),) = state["active"].items()
        state["active"][label] = "not-a-checkpoint"
        forged = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        with pytest.raises(FanOutError) as caught:
            await FanOutStream("test:sc", sources, concurrency=2, resume_from=forged).collect()
        assert list(caught.value.failures) == [label]
        assert isinstance(caught.value.failures[label], ValueError)
        rest = FanOutStream[SendcloudIntegrationLog](
            "test:sc", sources, concurrency=2, resume_from=forged, on_error="collect"
        )
        failed = label.removeprefix("sc ")
        assert len(await rest.collect()) == 90 - len(child_ids(emulator, "sendcloud", failed))
        assert list(rest.failures) == [label] and other_tasks() == set()
        for bad in (0, -1, True, 1.5):
            with pytest.raises(ValueError, match="concurrency"):
                FanOutStream("test:sc", sources, concurrency=bad)  # type: ignore[arg-type]


def test_asyncio_run_closing_a_fanout_left_open_logs_no_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # asyncio.run() ends by closing every async generator still alive, all at once: here the
    # fan-out's record generator and the page generator it reads from (kept alive past the
    # run, as a traceback holding the frame would).
    held: list[Any] = []

    async def main() -> None:
        async with (
            ThreadedEmulator(integrations=3, logs=300, faults=LATENCY) as emu,
            sendcloud(emu) as client,
        ):
            records = aiter(client.logs_for_integrations(concurrency=3, page_size=5))
            await anext(records)
            await asyncio.sleep(0.05)  # children waiting to decode
            held.append(records)

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(main())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
