"""Restarting ``client.tail()`` from its checkpoint, for Sendcloud v2, v3 and Elastic Path:
mid-burst, before the first poll, after a cancellation mid-poll; checkpoints of another
listing or of a stream are refused.

A restart uses a new client, as a new process would. Nothing is yielded twice and nothing
added meanwhile is lost.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration_logs_async.emulator import Emulator

from .._support.emulators import ThreadedEmulator
from .._support.tasks import settle
from ._tail import (
    CLIENTS,
    SAFETY,
    Follower,
    integration_ids,
    make_client,
    provider_of,
    wait_until,
)

pytestmark = pytest.mark.emulator(seed=20, integrations=3, logs=60)

PAGE = 5
FAST_POLL = 0.01


def strs(ids: list[Any]) -> list[str]:
    return [str(i) for i in ids]


async def started_checkpoint(emu: Emulator, which: str) -> str:
    """The checkpoint of a tail after its baseline (the store as it is now is skipped)."""
    async with make_client(emu, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(tail) as follower:
            await follower.polled(1)
        return tail.checkpoint


@pytest.mark.parametrize("cut", [1, 5, 9, 22])
@pytest.mark.parametrize("which", CLIENTS)
async def test_a_restart_mid_burst_yields_the_rest_once(
    emulator: Emulator, which: str, cut: int
) -> None:
    provider = provider_of(which)
    start = await started_checkpoint(emulator, which)
    burst = strs(emulator.add_logs(provider, 23))
    taken: list[str] = []
    async with make_client(emulator, which) as client:
        tail = client.tail(resume_from=start, page_size=PAGE, poll_interval=FAST_POLL)
        async with asyncio.timeout(SAFETY):
            async for log in tail:
                taken.append(str(log.id))
                if len(taken) == cut:
                    break
        checkpoint = tail.checkpoint
    later = strs(emulator.add_logs(provider, 3))
    async with make_client(emulator, which) as client:  # as after a process restart
        resumed = client.tail(resume_from=checkpoint, page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(resumed) as follower:
            await follower.received(23 - cut + 3)
            await follower.polled(resumed.stats.polls + 2)
    assert taken == burst[:cut]
    assert follower.ids == burst[cut:] + later


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_checkpoint_before_the_first_poll_resumes_from_then(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        checkpoint = tail.checkpoint  # never polled: "from now" by the client's clock
        await tail.aclose()
    # Logs created after it (a whole second later: Sendcloud stamps whole seconds).
    soon = datetime.now(UTC) + timedelta(seconds=2)
    added = strs(emulator.add_logs(provider, 3, created_at=soon))
    async with make_client(emulator, which) as client:
        resumed = client.tail(resume_from=checkpoint, page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(resumed) as follower:
            await follower.received(3)
            added += strs(emulator.add_logs(provider, 2))  # the store's clock goes on from there
            await follower.received(5)
            await follower.polled(resumed.stats.polls + 2)
    assert follower.ids == added  # the 60 logs of the store are older: not yielded


@pytest.mark.parametrize("which", ["v2", "v3"])
async def test_a_checkpoint_before_the_first_poll_keeps_a_log_of_the_same_second(
    emulator: Emulator, which: str
) -> None:
    async with make_client(emulator, which) as client:
        for _ in range(20):  # open the tail and add the log within one second of the clock
            await asyncio.sleep((1_000_000 - datetime.now(UTC).microsecond) / 1e6 + 0.001)
            before = datetime.now(UTC)
            tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
            checkpoint = tail.checkpoint  # since: when the tail opened, after `before`
            await tail.aclose()
            now = datetime.now(UTC)
            if before.microsecond and before.replace(microsecond=0) == now.replace(microsecond=0):
                break
        else:
            pytest.fail("could not open a tail and add a log within one second")
        added = strs(emulator.add_logs("sendcloud", 1, created_at=now))  # created after it
        resumed = client.tail(resume_from=checkpoint, page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(resumed) as follower:
            await follower.polled(3)
    assert follower.ids == added


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_wider_lookback_on_resume_yields_no_log_from_before_the_start(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    emulator.add_logs(provider, 10)  # present at the start, seconds to a minute apart
    start = await started_checkpoint(emulator, which)
    async with make_client(emulator, which) as client:
        resumed = client.tail(
            resume_from=start, lookback=3600, page_size=PAGE, poll_interval=FAST_POLL
        )
        async with Follower(resumed) as follower:
            await follower.polled(1)
            added = strs(emulator.add_logs(provider, 2))
            await follower.received(2)
            await follower.polled(resumed.stats.polls + 2)
    assert follower.ids == added


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_checkpoint_of_another_listing_or_of_a_stream_is_refused(
    emulator: Emulator, which: str
) -> None:
    one = integration_ids(emulator, which)[0]
    owner: Any = one if which == "ep" else int(one)
    start = await started_checkpoint(emulator, which)
    async with make_client(emulator, which) as client:
        with pytest.raises(ValueError, match="belongs to the tail of"):
            client.tail(integration_id=owner, resume_from=start)
        of_one = client.tail(integration_id=owner)
        with pytest.raises(ValueError, match="belongs to the tail of"):
            client.tail(resume_from=of_one.checkpoint)
        other = "v2" if which == "ep" else "ep"
        async with make_client(emulator, other) as foreign:
            with pytest.raises(ValueError, match="belongs to the tail of"):
                foreign.tail(resume_from=start)
        stream = client.logs(page_size=PAGE)
        async for _ in stream:
            break
        with pytest.raises(ValueError, match="not a tail checkpoint"):
            client.tail(resume_from=stream.checkpoint)
        await stream.aclose()
        with pytest.raises(ValueError):
            client.logs(resume_from=start)
        with pytest.raises(ValueError):
            client.tail(resume_from="")


@pytest.mark.parametrize("which", CLIENTS)
async def test_cancelling_mid_poll_leaks_nothing_and_loses_nothing(which: str) -> None:
    async with ThreadedEmulator(seed=22, integrations=3, logs=60) as emu:
        provider = provider_of(which)
        async with make_client(emu, which) as client:
            tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
            follower = Follower(tail)
            async with follower:
                await follower.polled(1)
                first = strs(emu.add_logs(provider, 4))
                await follower.received(4)
                emu.set_faults({"rates": {"latency": 1.0}, "latency_seconds": 0.5})
                await wait_until(lambda: emu.in_flight >= 1, "a request in flight")
                checkpoint = tail.checkpoint
                second = strs(emu.add_logs(provider, 3))
                await follower.stop()  # cancels the consumer while its poll waits
            assert follower.task.cancelled()
            assert follower.ids == first
            assert not await settle(), "tasks left running after the tail was cancelled"
            emu.set_faults(None)
            async for log in client.logs(page_size=PAGE):  # the client is still usable
                assert str(log.id) == second[-1]
                break
            resumed = client.tail(resume_from=checkpoint, page_size=PAGE, poll_interval=0.01)
            async with Follower(resumed) as again:
                await again.received(3)
                await again.polled(resumed.stats.polls + 2)
            assert again.ids == second
            assert not await settle()


async def test_aclose_from_another_task_ends_a_waiting_tail(emulator: Emulator) -> None:
    async with make_client(emulator, "v2") as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        follower = Follower(tail)
        async with follower:
            await follower.polled(2)
            await tail.aclose()  # e.g. from a signal handler's task
            async with asyncio.timeout(SAFETY):
                await follower.task  # the consumer's loop ended normally
