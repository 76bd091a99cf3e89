"""The emulator enforces a per-credential rate limit; the client's limiter stays under it."""

from __future__ import annotations

import time
from bisect import bisect_right

import pytest

from integration_logs_async.emulator import Emulator, FaultConfig, Provider
from integration_logs_async.testing import EmulatorFactory

from .._support.clients import client_for
from .._support.store import store_ids
from ._helpers import assert_exactly

SERVER_RPS = 40
CLIENT_RATE = 36  # 90% of the server's limit: room for network jitter
PAGE = 50
LOGS = 2_400  # 48 pages: more requests than the server allows in one second


def busiest_second(emu: Emulator) -> int:
    """Most data requests the server saw within any one-second window."""
    starts = sorted(r.started for r in emu.requests if r.category == "data")
    return max((bisect_right(starts, t + 1.0 - 1e-9) - k for k, t in enumerate(starts)), default=0)


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_client_pacing_avoids_429s(
    emulator_factory: EmulatorFactory, provider: Provider
) -> None:
    emu = await emulator_factory(seed=61, integrations=3, logs=LOGS, rate_limit_rps=SERVER_RPS)
    settings = {"rate_limit": CLIENT_RATE, "default_429_pause": 1.0, "max_attempts": 10}
    started = time.monotonic()
    async with client_for(emu, provider, **settings) as client:
        got = [r.id async for r in client.logs(page_size=PAGE).raw()]
        assert client.stats.rate_limited == 0
    elapsed = time.monotonic() - started
    assert_exactly(got, store_ids(emu, provider))
    statuses = [r.status for r in emu.requests if r.category == "data"]
    assert statuses.count(429) == 0 and len(statuses) > SERVER_RPS
    assert busiest_second(emu) <= SERVER_RPS
    assert elapsed >= (len(statuses) - 1) / CLIENT_RATE * 0.95  # it really was paced


async def test_pacing_at_the_limit_survives_a_server_that_holds_requests(
    emulator_factory: EmulatorFactory,
) -> None:
    """The server holds each request 0-150 ms before its rate check (a busy core, a new
    connection). Paced 2% under the limit, spacing alone leaves 20 ms of a one-second
    window: a request held longer than the one two before it is counted too soon after it.
    The window guard sends request j a window after the answer to request j - n began
    (the server counted that one before answering), so no request is refused."""
    faults = FaultConfig(
        seed=7, rates={"latency": 1.0}, latency_seconds=0.0, latency_jitter_seconds=0.15
    )
    emu = await emulator_factory(
        seed=64, integrations=2, logs=900, rate_limit_rps=20, faults=faults
    )
    settings = {"rate_limit": 20, "default_429_pause": 1.0, "max_attempts": 10}
    async with client_for(emu, "elasticpath", **settings) as client:  # pages fetched ahead
        got = [r.id async for r in client.logs(page_size=20).raw()]
        assert client.stats.rate_limited == 0
    assert_exactly(got, store_ids(emu, "elasticpath"))
    statuses = [r.status for r in emu.requests if r.category == "data"]
    assert statuses.count(429) == 0 and len(statuses) > 40


async def test_concurrent_fanout_shares_one_limiter(emulator_factory: EmulatorFactory) -> None:
    """Eight concurrent children plus prefetching still make one paced stream of requests."""
    emu = await emulator_factory(
        seed=62, integrations=4, jobs_per_integration=3, logs=1_500, rate_limit_rps=SERVER_RPS
    )
    settings = {"rate_limit": CLIENT_RATE, "default_429_pause": 1.0, "max_attempts": 10}
    async with client_for(emu, "elasticpath", **settings) as client:
        logs = await client.logs_by_job(concurrency=8, page_size=PAGE).collect()
        assert client.stats.rate_limited == 0
    assert sorted(log.id for log in logs) == sorted(store_ids(emu, "elasticpath"))
    statuses = [r.status for r in emu.requests if r.category == "data"]
    assert statuses.count(429) == 0 and len(statuses) > SERVER_RPS
    assert busiest_second(emu) <= SERVER_RPS


async def test_unpaced_client_meets_429s_and_still_reads_everything(
    emulator_factory: EmulatorFactory,
) -> None:
    """Without pacing the server answers 429 (Retry-After: 1); the client waits and goes on."""
    emu = await emulator_factory(seed=63, integrations=4, logs=1_500, rate_limit_rps=SERVER_RPS)
    settings = {"rate_limit": 0, "max_attempts": 10, "prefetch_pages": 8}
    async with client_for(emu, "elasticpath", **settings) as client:
        logs = await client.logs_for_integrations(concurrency=4, page_size=20).collect()
        assert client.stats.rate_limited > 0
    assert sorted(log.id for log in logs) == sorted(store_ids(emu, "elasticpath"))
    assert any(r.status == 429 for r in emu.requests)
