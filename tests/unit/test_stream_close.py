"""Closing streams: aclose in every state, and nothing left running afterwards."""

from __future__ import annotations

import asyncio
import gc

import pytest
from aioresponses import aioresponses

from integration_logs_async import BearerToken, ElasticPathClient

from .._support.clients import FAST
from .._support.tasks import other_tasks
from ._fakes import FakeElasticPath, ep_log


def client() -> ElasticPathClient:
    return ElasticPathClient(BearerToken("t"), **{**FAST, "prefetch_pages": 3})


@pytest.fixture
def server(mock: aioresponses) -> FakeElasticPath:
    return FakeElasticPath([ep_log(i) for i in range(500)]).register(mock)


async def test_aclose_before_iteration(server: FakeElasticPath) -> None:
    async with client() as c:
        stream = c.logs()
        await stream.aclose()
        await stream.aclose()
    assert server.seen == []


async def test_aclose_of_an_unstarted_dropped_iterator(server: FakeElasticPath) -> None:
    async with client() as c:
        stream = c.logs()
        it = stream.__aiter__()
        del it
        gc.collect()
        await asyncio.wait_for(stream.aclose(), 1)
    assert server.seen == []


async def test_aclose_mid_stream_ends_the_iterator(server: FakeElasticPath) -> None:
    async with client() as c:
        stream = c.logs()
        it = stream.__aiter__()
        for _ in range(120):
            await anext(it)
        await stream.aclose()
        assert other_tasks() == set()
        with pytest.raises(StopAsyncIteration):
            await anext(it)
        assert stream.consumed == 120


async def test_aclose_after_a_dropped_iterator_waits_for_its_cleanup(
    server: FakeElasticPath,
) -> None:
    async with client() as c:
        stream = c.logs()
        async for log in stream:
            if log.id == "log-0120":
                break
        await asyncio.wait_for(stream.aclose(), 1)  # no ticks in between
        assert other_tasks() == set()


async def test_aclose_after_exhaustion(server: FakeElasticPath) -> None:
    async with client() as c:
        stream = c.logs()
        assert len(await stream.collect()) == 500
        await asyncio.wait_for(stream.aclose(), 1)
        assert stream.exhausted


async def test_pages_iterator_closes_too(server: FakeElasticPath) -> None:
    async with client() as c:
        async with c.logs() as stream:
            async for page in stream.pages():
                assert page.number == 1
                break
        assert other_tasks() == set()
    assert server.offsets == [0]


def test_prefetch_settings_are_public_and_validated() -> None:
    from integration_logs_async import BasicAuth, BearerToken, ElasticPathClient, SendcloudClient

    ep = ElasticPathClient(BearerToken("t"), prefetch_pages=4)
    stream = ep.logs()
    assert stream.prefetch_pages == 4
    single = stream.with_prefetch(0)
    assert single.prefetch_pages == 0 and stream.prefetch_pages == 4  # a twin, not a mutation
    single._set_prefetch(2)
    assert single.prefetch_pages == 2
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="integer >= 0"):
            single._set_prefetch(bad)  # type: ignore[arg-type]
    cursor = SendcloudClient(BasicAuth("a", "b")).logs()
    cursor._set_prefetch(3)  # cursor pagination fetches one page at a time
    assert cursor.prefetch_pages == 0
