"""``client.tail()`` when things go wrong, for Sendcloud v2, v3 and Elastic Path: injected
server errors, resets and 429s; logs that arrive late; deleted records; refused credentials
and a missing integration.

A tail outlives transient failures (each logged, counted in ``stats.failures``) and yields
every log exactly once; a log too late to place raises ``TailGapError`` naming it; definite
answers (401, 404) end it with their typed error.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration_logs_async import (
    AuthenticationError,
    BasicAuth,
    ClientCredentials,
    ElasticPathClient,
    NotFoundError,
    SendcloudClient,
    SendcloudV3Client,
    TailGapError,
)
from integration_logs_async.emulator import Emulator
from integration_logs_async.testing import EmulatorFactory

from .._support.clients import FAST
from ._tail import (
    CLIENTS,
    SAFETY,
    Follower,
    TailClient,
    assert_once,
    created,
    listing_requests,
    make_client,
    provider_of,
)

pytestmark = pytest.mark.emulator(seed=19, integrations=3, logs=60)

PAGE = 5
FAST_POLL = 0.01

# Fault kind of the forced failures -> random faults meanwhile. Each case forces the first
# two requests after the faults are set to fail: with max_attempts=2 that poll fails for sure.
FAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "5xx": (
        "service_unavailable",
        {"rates": {"server_error": 0.12, "bad_gateway_html": 0.08, "gateway_timeout": 0.05}},
    ),
    "reset": ("reset", {"rates": {"reset": 0.2, "truncated": 0.05}}),
    "429": ("rate_limited", {"rates": {"rate_limited": 0.25}, "retry_after_seconds": 0}),
}


def strs(ids: list[Any]) -> list[str]:
    return [str(i) for i in ids]


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("which", CLIENTS)
async def test_bursts_during_faults_arrive_exactly_once(
    emulator: Emulator, which: str, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="integration_logs_async")
    provider = provider_of(which)
    forced, config = FAULTS[fault]
    async with make_client(emulator, which, max_attempts=2) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(tail) as follower:
            await follower.polled(1)
            emulator.set_faults({**config, "seed": 5, "schedule": {1: forced, 2: forced}})
            expected: list[str] = []
            for count in (12, 1, 9, 4):
                expected += strs(emulator.add_logs(provider, count))
                await follower.received(len(expected))
            emulator.set_faults(None)
            await follower.polled(tail.stats.polls + 2)
    assert_once(follower.ids, expected)
    assert follower.ids == expected  # each burst oldest first, bursts in turn
    stats = tail.stats
    assert stats.failures >= 1  # the forced one at least: the tail went on after it
    assert stats.last_error is None  # a good poll came after the last failure
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and r.getMessage().startswith("tail of ")
    ]
    assert len(warnings) == stats.failures
    assert "poll failed" in warnings[0].getMessage()
    assert tail.listing in warnings[0].getMessage()


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_late_log_within_the_lookback_is_yielded_once(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(tail) as follower:
            await follower.polled(1)
            burst = strs(emulator.add_logs(provider, 3))
            await follower.received(3)
            newest = created(follower.logs[-1])
            late = strs(emulator.add_logs(provider, 1, created_at=newest - timedelta(seconds=30)))
            await follower.received(4)
            after = strs(emulator.add_logs(provider, 2))
            await follower.received(6)
            await follower.polled(tail.stats.polls + 3)
    assert follower.ids == burst + late + after
    assert created(follower.logs[3]) < newest


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_log_later_than_the_lookback_is_a_gap_unless_lookback_covers_it(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)  # lookback 60 s
        async with Follower(tail) as follower:
            await follower.polled(1)
            # Created now, long after the store's logs: the late one below is still after
            # the tail's start (the newest log at its first poll, minus the look-back).
            burst = strs(emulator.add_logs(provider, 3, created_at=datetime.now(UTC)))
            await follower.received(3)
            checkpoint = tail.checkpoint
            newest = created(follower.logs[-1])
            (late,) = strs(
                emulator.add_logs(provider, 1, created_at=newest - timedelta(seconds=600))
            )
            with pytest.raises(TailGapError, match=rf"^log {re.escape(late)} of .* lookback"):
                await follower.until(lambda: False, "the gap")
        assert follower.ids == burst  # nothing yielded past the gap
        # The message's advice: a look-back window that covers the delay yields it, once.
        wider = client.tail(
            resume_from=checkpoint, lookback=3600, page_size=PAGE, poll_interval=FAST_POLL
        )
        async with Follower(wider) as again:
            await again.received(1)
            after = strs(emulator.add_logs(provider, 2))
            await again.received(3)
            await again.polled(wider.stats.polls + 2)
    assert again.ids == [late, *after]


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_larger_lookback_from_the_start_yields_a_late_log(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    async with make_client(emulator, which) as client:
        tail = client.tail(lookback=3600, page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(tail) as follower:
            await follower.polled(1)
            burst = strs(emulator.add_logs(provider, 3))
            await follower.received(3)
            newest = created(follower.logs[-1])
            late = strs(emulator.add_logs(provider, 1, created_at=newest - timedelta(seconds=600)))
            await follower.received(4)
            await follower.polled(tail.stats.polls + 3)
    assert follower.ids == burst + late


@pytest.mark.parametrize("which", CLIENTS)
async def test_deleting_the_newest_yielded_logs_costs_no_reread(
    emulator_factory: EmulatorFactory, which: str
) -> None:
    emu = await emulator_factory(seed=21, integrations=3, logs=2_000)
    provider = provider_of(which)
    async with make_client(emu, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        follower = Follower(tail, probe=lambda: (listing_requests(emu, tail), tail.stats.polls))
        async with follower:
            await follower.polled(1)
            first = emu.add_logs(provider, 3)
            await follower.received(3)
            emu.delete_logs(provider, first[-1:])  # the boundary: the newest log yielded
            second = emu.add_logs(provider, 2)
            await follower.received(5)
            third = emu.add_logs(provider, 7)
            await follower.received(12)
            emu.delete_logs(provider, [*second, *third[-5:]])  # a whole page's worth, newest
            await follower.polled(tail.stats.polls + 2)
            fourth = emu.add_logs(provider, 4)
            await follower.received(16)
            await follower.polled(tail.stats.polls + 3)
    expected = strs([*first, *second, *third, *fourth])
    assert follower.ids == expected
    requests, polls = listing_requests(emu, tail), tail.stats.polls
    assert requests == tail.stats.pages
    # Bursts of 3, 2, 7 and 4 logs take at most 3 pages each; the store has 400 pages.
    assert requests <= polls + 8
    # From the last log before the deletion to the first after it: a page or two per poll.
    (req_before, polls_before), (req_after, polls_after) = follower.probes[11], follower.probes[12]
    assert req_after - req_before <= (polls_after - polls_before) + 2


def _refused(emu: Emulator, which: str) -> TailClient:
    """A client of ``which`` whose secret the emulator refuses."""
    wrong = BasicAuth(emu.sendcloud_public_key, "wrong")
    client: TailClient
    if which == "v2":
        client = SendcloudClient(wrong, base_url=emu.sendcloud_url, **FAST)
    elif which == "v3":
        client = SendcloudV3Client(wrong, base_url=emu.sendcloud_v3_url, **FAST)
    else:
        auth = ClientCredentials(emu.epcc_client_id, "wrong", token_url=emu.elasticpath_token_url)
        client = ElasticPathClient(auth, base_url=emu.elasticpath_url, **FAST)
    return client


@pytest.mark.parametrize("which", CLIENTS)
async def test_refused_credentials_end_the_tail(emulator: Emulator, which: str) -> None:
    async with _refused(emulator, which) as client:
        tail = client.tail(page_size=PAGE, poll_interval=FAST_POLL)
        with pytest.raises(AuthenticationError):
            async with asyncio.timeout(SAFETY):
                async for _ in tail:
                    pass
    assert tail.stats.polls == 0 and tail.stats.failures == 0  # no retry loop
    data = [r for r in emulator.requests if r.path.endswith(tail.listing)]
    assert len(data) <= 1
    assert emulator.requests, "the refusal came from the emulator"


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_missing_integration_ends_the_tail(emulator: Emulator, which: str) -> None:
    missing: Any = "00000000-0000-4000-8000-000000000000" if which == "ep" else 99_999_999
    async with make_client(emulator, which) as client:
        tail = client.tail(integration_id=missing, page_size=PAGE, poll_interval=FAST_POLL)
        with pytest.raises(NotFoundError):
            async with asyncio.timeout(SAFETY):
                async for _ in tail:
                    pass
        assert tail.stats.polls == 0 and tail.stats.failures == 0
        async for log in client.logs(page_size=1):  # the client is still usable
            assert log.id
            break
