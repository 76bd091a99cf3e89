"""``client.tail()`` against the emulator, for Sendcloud v2, v3 and Elastic Path: where it
starts, bursts over several pages, what an idle poll costs, ``raw()``, ``pages()``, one
integration's listing, and the consume-once rules.

Small pages (5) make a burst span pages; a tiny poll interval keeps the tests quick. Logs are
added with ``emu.add_logs`` (at the head of every listing) and the tests wait until the
expected ids arrived; exactly once is asserted by id.
"""

from __future__ import annotations

import asyncio
from copy import copy
from datetime import datetime, timedelta
from typing import Any

import pytest

from integration_logs_async import RawRecord, TailBatch, TailStats
from integration_logs_async.emulator import Emulator

from ._tail import (
    CLIENTS,
    SAFETY,
    Follower,
    created,
    integration_ids,
    listing_requests,
    make_client,
    provider_of,
    wait_until,
)

pytestmark = pytest.mark.emulator(seed=18, integrations=3, logs=60)

PAGE = 5
FAST_POLL = 0.01


def strs(ids: list[Any]) -> list[str]:
    return [str(i) for i in ids]


@pytest.mark.parametrize("which", CLIENTS)
async def test_from_now_skips_the_store_and_yields_new_logs_oldest_first(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(tail) as follower:
            await follower.polled(1)  # the baseline: the store's 60 logs are skipped
            assert follower.ids == [] and tail.stats.new == 0
            one = strs(emulator.add_logs(provider, 1))
            await follower.received(1)
            burst = strs(emulator.add_logs(provider, 23))  # more than 4 pages of 5
            await follower.received(24)
            await follower.polled(tail.stats.polls + 3)  # later polls find nothing more
    assert follower.ids == one + burst  # exactly the new ids, oldest first
    times = [created(log) for log in follower.logs]
    assert times == sorted(times)
    assert tail.stats.new == tail.stats.yielded == 24


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_burst_of_several_pages_is_one_batch_in_created_order(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(tail, pages=True) as follower:
            await follower.polled(1)
            pages_before = tail.stats.pages
            burst = strs(emulator.add_logs(provider, 23))
            await follower.received(23)
            burst_pages = tail.stats.pages - pages_before - (tail.stats.polls - 2)
            second = strs(emulator.add_logs(provider, 7))
            await follower.received(30)
    batches = follower.batches
    assert [[str(log.id) for log in b.items] for b in batches] == [burst, second]
    assert burst_pages >= 23 // PAGE  # one poll walked the burst page by page
    for batch in batches:
        times = [created(log) for log in batch.items]
        assert times == sorted(times)
        assert isinstance(batch, TailBatch) and batch.found_at > 0


@pytest.mark.parametrize("which", CLIENTS)
async def test_since_yields_the_logs_at_or_after_it_oldest_first_then_new_ones(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        head = await client.logs(page_size=20).raw().collect()
        since: datetime | None = head[7].created_at  # the 8th newest log
        assert since is not None
        expected = [r.id for r in reversed(head) if r.created_at and r.created_at >= since]
        assert len(expected) == 8  # the store's times are distinct
        tail = client.tail(since=since, page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(tail) as follower:
            await follower.received(8)
            new = strs(emulator.add_logs(provider, 6))
            await follower.received(14)
            await follower.polled(tail.stats.polls + 2)
    assert follower.ids == expected + new
    assert all(created(log) >= since for log in follower.logs)


def _snapshot(emu: Emulator, follower: list[Follower]) -> tuple[int, TailStats]:
    tail = follower[0].tail
    return listing_requests(emu, tail), copy(tail.stats)


@pytest.mark.parametrize("which", CLIENTS)
async def test_an_idle_poll_costs_exactly_one_request(emulator: Emulator, which: str) -> None:
    """Counted between logs handed out (the tail is then suspended, no request in flight):
    polls in between are idle but for the last, which found the one log added."""
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        holder: list[Follower] = []
        follower = Follower(tail, probe=lambda: _snapshot(emulator, holder))
        holder.append(follower)
        async with follower:
            await follower.polled(6)
            emulator.add_logs(provider, 1)
            await follower.received(1)
            emulator.add_logs(provider, 12)
            await follower.received(13)
            await follower.polled(tail.stats.polls + 6)
            emulator.add_logs(provider, 1)
            await follower.received(14)
    (req1, st1), (req2, st2), (req3, st3) = (follower.probes[i] for i in (0, 12, 13))
    # baseline, idle polls and the poll of the first log: one page each
    assert st1.polls >= 7 and req1 == st1.pages == st1.polls
    assert st1.idle_polls == st1.polls - 1
    # the burst's poll walked pages; each request is one page (no retries here)
    assert req2 - req1 == st2.pages - st1.pages
    assert st2.pages - st1.pages > 12 // PAGE
    # after the burst: one request per poll again, as the window's logs fit in one page
    times = [created(log) for log in follower.logs]
    assert times[9] < times[12] - timedelta(seconds=60), "precondition: a 5-log page spans 60 s"
    assert st3.polls - st2.polls >= 7
    assert req3 - req2 == st3.pages - st2.pages == st3.polls - st2.polls
    assert st3.idle_polls - st2.idle_polls == st3.polls - st2.polls - 1


@pytest.mark.parametrize("which", CLIENTS)
async def test_raw_yields_the_servers_bytes(emulator: Emulator, which: str) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL).raw()
        async with Follower(tail) as follower:
            await follower.polled(1)
            added = strs(emulator.add_logs(provider, 8))
            await follower.received(8)
        listed = {r.id: r for r in await client.logs(page_size=20).raw().collect()}
    assert follower.ids == added
    for record in follower.logs:
        assert isinstance(record, RawRecord)
        assert record.raw == listed[record.id].raw  # byte for byte what the server sent
        assert record.created_at == listed[record.id].created_at
        assert record.integration_id == listed[record.id].integration_id


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_batch_checkpoint_resumes_after_the_batch(emulator: Emulator, which: str) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(tail, pages=True) as follower:
            await follower.polled(1)
            first = strs(emulator.add_logs(provider, 7))
            await follower.received(7)
        checkpoint = follower.batches[0].checkpoint
        later = strs(emulator.add_logs(provider, 4))
        resumed = client.tail(resume_from=checkpoint, page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(resumed) as again:
            await again.received(4)
            await again.polled(resumed.stats.polls + 2)
    assert follower.ids == first
    assert again.ids == later


@pytest.mark.parametrize("which", CLIENTS)
async def test_async_with_closes_the_tail_and_a_tail_is_consumed_once(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        async with client.tail(page_size=PAGE, poll_interval=FAST_POLL, since=None) as tail:
            iterator = aiter(tail)
            with pytest.raises(RuntimeError, match="already iterated"):
                aiter(tail)
            with pytest.raises(RuntimeError, match="already iterated"):
                tail.pages()
            with pytest.raises(RuntimeError, match="already iterated"):
                tail.raw()

            async def next_log() -> Any:
                return await anext(iterator)

            waiting = asyncio.create_task(next_log())
            await wait_until(lambda: tail.stats.polls >= 1, "the baseline")
            added_first = strs(emulator.add_logs(provider, 1))
            async with asyncio.timeout(SAFETY):
                first = await waiting
            assert [str(first.id)] == added_first
        with pytest.raises(StopAsyncIteration):
            await anext(iterator)  # closed by the async with
        second = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(second) as follower:
            await follower.polled(1)
            added = strs(emulator.add_logs(provider, 2))
            await follower.received(2)
        with pytest.raises(RuntimeError, match="already iterated"):
            await second.collect()
    assert follower.ids == added


@pytest.mark.parametrize("which", CLIENTS)
async def test_one_integrations_tail_yields_only_its_logs(emulator: Emulator, which: str) -> None:
    provider = provider_of(which)
    mine, other = integration_ids(emulator, which)[:2]
    owner: Any = mine if which == "ep" else int(mine)
    stranger: Any = other if which == "ep" else int(other)
    async with make_client(emulator, which) as client:
        tail = client.tail(integration_id=owner, page_size=PAGE, poll_interval=FAST_POLL)
        assert mine in tail.listing
        async with Follower(tail) as follower:
            await follower.polled(1)
            added = strs(emulator.add_logs(provider, 3, owner))
            strangers = strs(emulator.add_logs(provider, 4, stranger))
            added += strs(emulator.add_logs(provider, 6, owner))
            added += strs(emulator.add_logs(provider, 5))  # spread over every integration
            listed = await client.integration_logs(owner, page_size=30).raw().collect()
            expected = [r.id for r in reversed(listed) if r.id in set(added)]
            assert len(expected) >= 9
            await follower.received(len(expected))
            await follower.polled(tail.stats.polls + 2)
    assert follower.ids == expected
    assert not set(strangers) & set(follower.ids)
