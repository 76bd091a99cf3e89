"""A full harvest of a 20,000-record store through each pagination style, resumed mid-way.

Consume N records, take ``stream.checkpoint``, open a NEW client and resume: the union must be
the store exactly (ids and the server's exact bytes, in order), without duplicates, at every
cut point, page boundaries included.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from integration_logs_async import AsyncStream, ElasticPathClient, RawRecord, SendcloudClient
from integration_logs_async.emulator import Emulator, Provider
from integration_logs_async.testing import EmulatorFactory

from .._support.clients import client_for
from .._support.store import store_ids, store_raw
from ._helpers import assert_exactly, take

RECORDS = 20_000
SENDCLOUD_PAGE = 100  # the server's page size (no page_size hint is sent)
EP_PAGE = 100  # page[limit]; pages after the first overlap by one, so they add 99 each

PAGE_BOUNDARIES: dict[Provider, list[int]] = {
    "sendcloud": [SENDCLOUD_PAGE, 2 * SENDCLOUD_PAGE, RECORDS - SENDCLOUD_PAGE],
    "elasticpath": [EP_PAGE, EP_PAGE + (EP_PAGE - 1), EP_PAGE + 100 * (EP_PAGE - 1)],
}
OTHER_CUTS = [0, 1, 7_777, RECORDS - 1]  # (the very end: see the chain of resumes)


async def big_store(factory: EmulatorFactory) -> Emulator:
    return await factory(seed=2024, integrations=6, jobs_per_integration=4, logs=RECORDS)


def listing(
    client: SendcloudClient | ElasticPathClient, *, resume_from: str | None = None
) -> AsyncStream[Any]:
    return client.logs(resume_from=resume_from)


async def collect_ids(stream: AsyncStream[Any]) -> list[str]:
    return [str(r.id) async for r in stream]


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_resume_at_many_cut_points(
    emulator_factory: EmulatorFactory, provider: Provider
) -> None:
    emu = await big_store(emulator_factory)
    expected_ids = store_ids(emu, provider)
    expected_raw = store_raw(emu, provider)
    assert len(expected_ids) == RECORDS
    cuts = sorted({*PAGE_BOUNDARIES[provider], *OTHER_CUTS})
    for n, cut in enumerate(cuts):
        typed_first = n % 2 == 1  # checkpoints are interchangeable between typed and raw
        async with client_for(emu, provider) as first_client:
            stream = listing(first_client)
            head: list[str]
            if typed_first:
                records, checkpoint = await take(stream, cut)
                head = [str(record.id) for record in records]
                head_raw = None
            else:
                taken, checkpoint = await take(stream.raw(), cut)
                head = [r.id for r in taken]
                head_raw = [r.raw for r in taken]
        assert head == expected_ids[:cut], f"cut {cut}: first part differs"
        async with client_for(emu, provider) as second_client:
            rest = await listing(second_client, resume_from=checkpoint).raw().collect()
        union = head + [r.id for r in rest]
        assert len(union) == RECORDS, f"cut {cut}: {len(union)} records"
        assert_exactly(union, expected_ids)
        assert [r.raw for r in rest] == expected_raw[cut:], f"cut {cut}: bytes differ"
        if head_raw is not None:
            assert head_raw == expected_raw[:cut]


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_resume_from_page_checkpoints(
    emulator_factory: EmulatorFactory, provider: Provider
) -> None:
    """``page.checkpoint`` and ``page.checkpoint_at(k)`` resume exactly too."""
    emu = await big_store(emulator_factory)
    expected_ids = store_ids(emu, provider)
    async with client_for(emu, provider) as client:
        pages = client.logs().pages()
        consumed: list[str] = []
        checkpoints: list[tuple[int, str]] = []
        async for page in pages:
            if page.number == 1:
                checkpoints.append((len(consumed) + 1, page.checkpoint_at(1)))
            if page.number == 3:
                checkpoints.append((len(consumed), page.checkpoint_at(0)))
            if page.number == 57:
                checkpoints.append(
                    (len(consumed) + len(page) - 1, page.checkpoint_at(len(page) - 1))
                )
            consumed += [str(r.id) for r in page.items]
            if page.number in (1, 150):
                checkpoints.append((len(consumed), page.checkpoint))
            if page.number == 150:
                break
    assert consumed == expected_ids[: len(consumed)]
    for position, checkpoint in checkpoints:
        async with client_for(emu, provider) as other:
            rest = await collect_ids(other.logs(resume_from=checkpoint).raw())
        assert_exactly(expected_ids[:position] + rest, expected_ids)


@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_chain_of_resumes_through_the_whole_store(
    emulator_factory: EmulatorFactory, provider: Provider
) -> None:
    """Twelve hops, each on a new client, each consuming a random number of records."""
    emu = await big_store(emulator_factory)
    expected_raw = store_raw(emu, provider)
    rng = random.Random(7)
    harvested: list[RawRecord] = []
    checkpoint: str | None = None
    hops = 0
    while True:
        hops += 1
        size = rng.choice([1, 99, 100, 101, 199, rng.randrange(1, 3000)])
        async with client_for(emu, provider, prefetch_pages=rng.choice([0, 2, 4])) as client:
            stream = client.logs(resume_from=checkpoint).raw()
            taken, checkpoint = await take(stream, size)
            exhausted = stream.exhausted
        harvested += taken
        if len(taken) < size:
            break
        assert hops < 500
    assert exhausted
    assert_exactly([r.id for r in harvested], store_ids(emu, provider))
    assert [r.raw for r in harvested] == expected_raw
    # a checkpoint taken at the end resumes to nothing, without a request
    emu.reset_stats()
    async with client_for(emu, provider) as client:
        assert await client.logs(resume_from=checkpoint).collect() == []
    assert [r for r in emu.requests if r.category == "data"] == []
