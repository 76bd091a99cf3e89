"""The store grows while a stream reads it (README: "What a stream guarantees while the store
grows"): every record that existed when the stream started is yielded exactly once, and
nothing is yielded twice. New logs arrive at the head of the listing (newest first), so they
land behind the stream; the offset listing (Elastic Path) shifts under it.

Elastic Path growth is tested both smaller and larger than a page between fetches; README
allows ``PaginationError`` for "more than a page inserted between two fetches" — if it is
raised, the test checks that it was raised rather than records being lost or duplicated.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest

from integration_logs_async import AsyncStream, PaginationError
from integration_logs_async.emulator import Emulator, FaultConfig, FaultKind, Provider
from integration_logs_async.testing import EmulatorFactory

from .._support.clients import RESILIENT, client_for
from .._support.store import store_ids, store_raw
from ._helpers import assert_exactly, take

PAGE = 100


async def grown_store(factory: EmulatorFactory, logs: int = 3_000) -> Emulator:
    return await factory(seed=51, integrations=5, jobs_per_integration=3, logs=logs)


def check_guarantee(got: list[str], initial: list[str], added: list[str]) -> None:
    """No duplicates; every initial record once, in listing order; nothing foreign."""
    assert len(got) == len(set(got)), f"{len(got) - len(set(got))} duplicates"
    missing = set(initial) - set(got)
    assert not missing, f"{len(missing)} records that existed at the start were not yielded"
    assert set(got) <= set(initial) | set(added), "records from nowhere"
    initial_set = set(initial)
    assert [i for i in got if i in initial_set] == initial


async def read_growing(
    stream: AsyncStream[Any],
    grow: Callable[[int], int],
    emu: Emulator,
    provider: Provider,
    *,
    by_page: bool,
) -> tuple[list[str], list[str], PaginationError | None]:
    """Read ``stream``; after the k-th page (or record) add ``grow(k)`` logs to the store."""
    got: list[str] = []
    added: list[str] = []
    error: PaginationError | None = None
    try:
        if by_page:
            async for page in stream.pages():
                got += [str(r.id) for r in page.items]
                added += [str(i) for i in emu.add_logs(provider, grow(page.number))]
        else:
            async for record in stream:
                got.append(str(record.id))
                added += [str(i) for i in emu.add_logs(provider, grow(len(got)))]
    except PaginationError as exc:
        error = exc
    return got, added, error


def every(step: int, count: int, *, first: int = 1) -> Callable[[int], int]:
    """Add ``count`` logs after every ``step``-th page/record (from ``first`` on)."""
    return lambda k: count if k >= first and (k - first) % step == 0 else 0


# --- Sendcloud (keyset cursor): growth never shifts the pages already left ---------------------


@pytest.mark.parametrize(
    ("grow", "by_page"),
    [
        (every(1, 7), True),  # a few logs between every two pages
        (every(1, 250), True),  # more than two pages between every two pages
        (every(37, 3), False),  # in the middle of pages
        (every(450, 1_000), False),
    ],
    ids=["7-per-page", "250-per-page", "mid-page-small", "mid-page-large"],
)
async def test_sendcloud_growth_during_the_stream(
    emulator_factory: EmulatorFactory, grow: Callable[[int], int], by_page: bool
) -> None:
    emu = await grown_store(emulator_factory)
    initial = store_ids(emu, "sendcloud")
    async with client_for(emu, "sendcloud") as client:
        got, added, error = await read_growing(
            client.logs(page_size=PAGE), grow, emu, "sendcloud", by_page=by_page
        )
    assert error is None
    assert added
    check_guarantee(got, initial, added)


# --- Elastic Path (offset): growth shifts the listing under the stream --------------------------

EP_GROWTH = [
    pytest.param(every(1, 7), True, id="7-per-page"),
    # (98 new records before each fetch would leave 1 new record per page: slow, not wrong)
    pytest.param(every(4, PAGE - 2), True, id="98-every-4th-page"),
    pytest.param(every(1, PAGE), True, id="100-per-page"),
    pytest.param(every(1, 150), True, id="150-per-page"),
    pytest.param(every(3, 1_000, first=2), True, id="1000-every-3rd-page"),
    pytest.param(every(53, 5), False, id="mid-page-5"),
    pytest.param(every(160, 333), False, id="mid-page-333"),
]


@pytest.mark.parametrize("prefetch", [4, 0], ids=["prefetch", "no-prefetch"])
@pytest.mark.parametrize(("grow", "by_page"), EP_GROWTH)
async def test_elasticpath_growth_during_the_stream(
    emulator_factory: EmulatorFactory, grow: Callable[[int], int], by_page: bool, prefetch: int
) -> None:
    emu = await grown_store(emulator_factory)
    initial = store_ids(emu, "elasticpath")
    async with client_for(emu, "elasticpath", prefetch_pages=prefetch) as client:
        got, added, error = await read_growing(
            client.logs(page_size=PAGE), grow, emu, "elasticpath", by_page=by_page
        )
    assert added
    if error is not None:  # allowed only for more than a page between two fetches
        assert max(grow(k) for k in range(1, 400)) > PAGE - 1, error
        assert "cannot be reconciled" in str(error) or "not advancing" in str(error)
        assert len(got) == len(set(got))
        initial_set = set(initial)
        assert [i for i in got if i in initial_set] == initial[: len(got)]
    else:
        check_guarantee(got, initial, added)


@pytest.mark.parametrize("prefetch", [4, 0], ids=["prefetch", "no-prefetch"])
async def test_elasticpath_integration_and_job_listings_grow_too(
    emulator_factory: EmulatorFactory, prefetch: int
) -> None:
    emu = await grown_store(emulator_factory)
    integration_id = emu.store.elasticpath_integration_ids[0]
    initial = [str(i) for i in emu.store.elasticpath_logs_for(integration_id).ids()]
    assert len(initial) > 3 * 20
    added: list[str] = []
    got: list[str] = []
    async with client_for(emu, "elasticpath", prefetch_pages=prefetch) as client:
        async for page in client.integration_logs(integration_id, page_size=20).pages():
            got += [r.id for r in page.items]
            added += [str(i) for i in emu.add_logs("elasticpath", 15 * page.number, integration_id)]
    check_guarantee(got, initial, added)


# --- resume while the store grows ---------------------------------------------------------------


RESUME_CASES = [
    # (records consumed before the checkpoint, logs added before resuming)
    (30, 10),  # mid first page, head page still holds the anchor
    (30, 150),  # mid first page, anchor pushed past the head page
    (30, 2_500),  # pushed many pages down
    (PAGE, 1),  # first page boundary
    (PAGE, 99),
    (PAGE, 101),
    (250, 40),
    (250, 1_234),
    (2_999, 500),  # one record left
    (3_000, 700),  # nothing left: still nothing after growth
]


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_resume_after_growth(emulator_factory: EmulatorFactory, provider: Provider) -> None:
    """Checkpoint, more logs arrive, resume on a new client: the rest, exactly once."""
    emu = await grown_store(emulator_factory)
    for cut, growth in RESUME_CASES:
        initial = store_ids(emu, provider)
        initial_raw = store_raw(emu, provider)
        async with client_for(emu, provider) as client:
            head, checkpoint = await take(client.logs(page_size=PAGE).raw(), cut)
        assert [r.id for r in head] == initial[:cut]
        emu.add_logs(provider, growth)
        async with client_for(emu, provider) as client:
            rest = await client.logs(page_size=PAGE, resume_from=checkpoint).raw().collect()
        assert_exactly([r.id for r in head + rest], initial)
        assert [r.raw for r in rest] == initial_raw[cut:], (cut, growth)


@pytest.mark.parametrize("prefetch", [4, 0], ids=["prefetch", "no-prefetch"])
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_growth_during_both_halves_of_a_resumed_harvest(
    emulator_factory: EmulatorFactory, provider: Provider, prefetch: int
) -> None:
    """The first half sees growth, the gap sees growth, the resumed half sees growth."""
    emu = await grown_store(emulator_factory)
    initial = store_ids(emu, provider)
    grow = every(2, 60)
    async with client_for(emu, provider, prefetch_pages=prefetch) as client:
        stream = client.logs(page_size=PAGE)
        head: list[str] = []
        async for record in stream:
            head.append(str(record.id))
            if len(head) % 50 == 0:
                emu.add_logs(provider, 30)
            if len(head) == 1_111:
                break
        checkpoint = stream.checkpoint
        await stream.aclose()
    emu.add_logs(provider, 345)
    async with client_for(emu, provider, prefetch_pages=prefetch) as client:
        rest, added, error = await read_growing(
            client.logs(page_size=PAGE, resume_from=checkpoint), grow, emu, provider, by_page=True
        )
    assert error is None
    assert_exactly(head + rest, initial)
    assert added


# --- growth concurrent with the requests (a background task), faults on ------------------------


async def read_while_growing_in_background(
    emu: Emulator, provider: Provider, bursts: list[int], pause: float, **settings: Any
) -> tuple[list[str], list[str], PaginationError | None]:
    """Read the listing while a task adds a burst of logs every ``pause`` seconds or so."""
    rng = random.Random(71)
    added: list[str] = []
    stop = asyncio.Event()

    async def grower() -> None:
        while not stop.is_set():
            await asyncio.sleep(rng.random() * 2 * pause)
            added.extend(str(i) for i in emu.add_logs(provider, rng.choice(bursts)))

    task = asyncio.create_task(grower())
    got: list[str] = []
    error: PaginationError | None = None
    try:
        async with client_for(emu, provider, **settings) as client:
            async for record in client.logs(page_size=PAGE).raw():
                got.append(record.id)
    except PaginationError as exc:
        error = exc
    finally:
        stop.set()
        await task
    return got, added, error


FLAKY_SERVER = FaultConfig(
    rates={
        FaultKind.SERVER_ERROR: 0.08,
        FaultKind.BAD_GATEWAY_HTML: 0.04,
        FaultKind.RATE_LIMITED_NO_RETRY_AFTER: 0.04,
        FaultKind.TRUNCATED: 0.04,
        FaultKind.RESET: 0.04,
        FaultKind.LATENCY: 0.5,
    },
    seed=5,
    latency_seconds=0.001,
    latency_jitter_seconds=0.01,
)


@pytest.mark.parametrize("prefetch", [4, 0], ids=["prefetch", "no-prefetch"])
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_background_growth_with_faults(
    emulator_factory: EmulatorFactory, provider: Provider, prefetch: int
) -> None:
    """A few logs every few milliseconds while requests fail and are retried: exact."""
    emu = await emulator_factory(seed=52, integrations=4, logs=2_000, faults=FLAKY_SERVER)
    initial = store_ids(emu, provider)
    got, added, error = await read_while_growing_in_background(
        emu, provider, [1, 2, 3], 0.01, prefetch_pages=prefetch, **RESILIENT
    )
    assert error is None
    assert added
    check_guarantee(got, initial, added)


@pytest.mark.parametrize("prefetch", [4, 0], ids=["prefetch", "no-prefetch"])
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_background_growth_faster_than_a_page_per_request(
    emulator_factory: EmulatorFactory, provider: Provider, prefetch: int
) -> None:
    """Bursts of 50-300 logs every ~2 ms: the offset listing cannot keep up and must say so
    (PaginationError) — never lose or repeat a record silently. The keyset cursor is exact."""
    emu = await emulator_factory(seed=53, integrations=4, logs=2_000)
    initial = store_ids(emu, provider)
    got, added, error = await read_while_growing_in_background(
        emu, provider, [50, 120, 300], 0.002, prefetch_pages=prefetch, **RESILIENT
    )
    assert added
    if provider == "sendcloud":
        assert error is None
    if error is None:
        check_guarantee(got, initial, added)
    else:
        assert "cannot be reconciled" in str(error)
        assert len(got) == len(set(got))
        initial_set = set(initial)
        survivors = [i for i in got if i in initial_set]
        assert survivors == initial[: len(survivors)]  # an exact prefix, nothing skipped


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_resume_at_every_position_after_growth(
    emulator_factory: EmulatorFactory, provider: Provider
) -> None:
    """Small pages, every cut point, growth below and above a page: always exact."""
    page = 4
    for growth in (page - 1, 2 * page + 1):
        emu = await emulator_factory(seed=54, integrations=2, logs=13)
        async with client_for(emu, provider, prefetch_pages=2) as client:
            for cut in range(1, 14):
                initial = store_ids(emu, provider)
                head, checkpoint = await take(client.logs(page_size=page).raw(), cut)
                emu.add_logs(provider, growth)
                rest = await client.logs(page_size=page, resume_from=checkpoint).raw().collect()
                assert [r.id for r in head + rest] == initial, (growth, cut)
