"""Item-exact resume from ``stream.checkpoint`` for cursor and offset pagination."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from integration_logs_async import (
    AsyncStream,
    BasicAuth,
    BearerToken,
    ElasticPathClient,
    PaginationError,
    SendcloudClient,
)
from integration_logs_async._paging import CursorPosition, OffsetPosition, encode_checkpoint

from .._support.clients import FAST
from ._fakes import FakeElasticPath, FakeSendcloud, ep_log, sc_log

SC_IDS = [str(i) for i in range(1, 9)]
EP_IDS = [f"log-{i:04d}" for i in range(7)]


def sendcloud() -> SendcloudClient:
    made: SendcloudClient = SendcloudClient(BasicAuth("pub", "sec"), **FAST)
    return made  # settings spread from a dict: the overloads cannot tell the version


def elasticpath(**settings: Any) -> ElasticPathClient:
    return ElasticPathClient(BearerToken("tok"), **{**FAST, **settings})


def sc_server(mock: aioresponses) -> FakeSendcloud:
    pages = [
        [sc_log(1), sc_log(2), sc_log(3)],
        [sc_log(4), sc_log(5), sc_log(6)],
        [sc_log(7), sc_log(8)],
    ]
    return FakeSendcloud(pages).register(mock)


def ep_server(mock: aioresponses, **options: Any) -> FakeElasticPath:
    return FakeElasticPath([ep_log(i) for i in range(7)], **options).register(mock)


async def take(stream: AsyncStream[Any], k: int) -> tuple[list[str], str]:
    """Consume ``k`` records; return their ids and the checkpoint after them."""
    it = stream.__aiter__()
    got = [str((await anext(it)).id) for _ in range(k)]
    checkpoint = stream.checkpoint
    await stream.aclose()
    return got, checkpoint


async def ids_of(stream: AsyncStream[Any]) -> list[str]:
    return [str(r.id) for r in await stream.collect()]


# --- every position, typed and raw ---------------------------------------------------------

Variant = tuple[str, str]
VARIANTS: list[Variant] = [("typed", "typed"), ("typed", "raw"), ("raw", "typed"), ("raw", "raw")]


def variant(stream: AsyncStream[Any], kind: str) -> AsyncStream[Any]:
    return stream.raw() if kind == "raw" else stream


@pytest.mark.parametrize(("first", "second"), VARIANTS)
@pytest.mark.parametrize("k", range(9))
async def test_cursor_resume_at_every_position(
    mock: aioresponses, k: int, first: str, second: str
) -> None:
    server = sc_server(mock)
    async with sendcloud() as client:
        got, checkpoint = await take(variant(client.logs(), first), k)
        assert got == SC_IDS[:k]
        before = len(server.seen)
        rest = await ids_of(variant(client.logs(resume_from=checkpoint), second))
    assert rest == SC_IDS[k:]
    resumed_pages = server.seen[before:]
    # Resume re-fetches at most the page the checkpoint is in, and nothing once done.
    assert resumed_pages == ([] if k == 8 else list(range(k // 3, 3)))


@pytest.mark.parametrize(("first", "second"), VARIANTS)
@pytest.mark.parametrize("k", range(8))
async def test_offset_resume_at_every_position(
    mock: aioresponses, k: int, first: str, second: str
) -> None:
    server = ep_server(mock)
    async with elasticpath() as client:
        got, checkpoint = await take(variant(client.logs(page_size=3), first), k)
        assert got == EP_IDS[:k]
        before = len(server.seen)
        rest = await ids_of(variant(client.logs(page_size=3, resume_from=checkpoint), second))
    assert rest == EP_IDS[k:]
    if k == 7:
        assert server.seen[before:] == []  # the checkpoint says done
    else:
        assert server.seen[before] == (max(0, k - 1), 3)  # re-read the anchor record


async def test_cursor_resume_requests_exactly(mock: aioresponses) -> None:
    server = sc_server(mock)
    async with sendcloud() as client:
        _, mid_page = await take(client.logs(), 4)
        _, boundary = await take(client.logs(), 3)
        _, done = await take(client.logs(), 8)
        server.seen.clear()
        assert await ids_of(client.logs(resume_from=mid_page)) == SC_IDS[4:]
        assert server.seen == [1, 2]  # the checkpoint's page again, skipping through id 4
        server.seen.clear()
        assert await ids_of(client.logs(resume_from=boundary)) == SC_IDS[3:]
        assert server.seen == [1, 2]  # straight to the next page
        server.seen.clear()
        stream = client.logs(resume_from=done)
        assert stream.exhausted
        assert await ids_of(stream) == []
        assert server.seen == []


@pytest.mark.parametrize("k", range(1, 8))
async def test_checkpoints_from_pages(mock: aioresponses, k: int) -> None:
    ep_server(mock)
    async with elasticpath() as client:
        pages = [p async for p in client.logs(page_size=3).pages()]
        offsets = [0]
        for page in pages:
            offsets.append(offsets[-1] + len(page))
            rest = await ids_of(client.logs(page_size=3, resume_from=page.checkpoint))
            assert rest == EP_IDS[offsets[-1] :]
    assert offsets == [0, 3, 5, 7]


async def test_checkpoint_before_iteration_is_the_start(mock: aioresponses) -> None:
    sc_server(mock)
    async with sendcloud() as client:
        fresh = client.logs()
        assert await ids_of(client.logs(resume_from=fresh.checkpoint)) == SC_IDS


# --- a listing that changed ----------------------------------------------------------------


@pytest.mark.parametrize("new", [1, 2, 5, 9])
async def test_offset_resume_after_records_added_at_the_head(mock: aioresponses, new: int) -> None:
    server = ep_server(mock)
    async with elasticpath() as client:
        got, checkpoint = await take(client.logs(page_size=3), 4)
        server.records[:0] = [ep_log(100 + i) for i in range(new)]
        rest = await ids_of(client.logs(page_size=3, resume_from=checkpoint))
    assert got + rest == EP_IDS  # the new head records come before the checkpoint


async def test_offset_resume_after_a_large_growth_needs_the_total(mock: aioresponses) -> None:
    server = ep_server(mock, with_total=False)
    async with elasticpath() as client:
        _, checkpoint = await take(client.logs(page_size=3), 4)
        server.records[:0] = [ep_log(100 + i) for i in range(5)]
        with pytest.raises(PaginationError, match="'log-0003'"):
            await client.logs(page_size=3, resume_from=checkpoint).collect()


async def test_cursor_resume_when_the_head_page_grew(mock: aioresponses) -> None:
    server = sc_server(mock)
    async with sendcloud() as client:
        _, checkpoint = await take(client.logs(), 2)  # mid head page, after id 2
        server.pages[:] = [
            [sc_log(21), sc_log(20), sc_log(1)],
            [sc_log(2), sc_log(3), sc_log(4)],
            [sc_log(5), sc_log(6), sc_log(7)],
            [sc_log(8)],
        ]
        assert await ids_of(client.logs(resume_from=checkpoint)) == SC_IDS[2:]


async def test_cursor_resume_when_the_anchor_vanished(mock: aioresponses) -> None:
    server = sc_server(mock)
    async with sendcloud() as client:
        _, checkpoint = await take(client.logs(), 4)  # mid page 2, after id 4
        server.pages[1] = [sc_log(5), sc_log(6)]
        with pytest.raises(PaginationError, match="no longer holds record '4'"):
            await client.logs(resume_from=checkpoint).collect()


# --- checkpoints that do not fit -----------------------------------------------------------


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "checkpoint",
    [
        "",
        "garbage!!",
        "%%%",
        "x",
        b64(b"null"),
        b64(b"[1, 2]"),
        b64(b'{"v": 1}'),
        b64(b'{"v": 1, "provider": "sendcloud", "stream": "/integrations/logs"}'),
        b64(b'{"v": 1, "provider": "sendcloud", "stream": "/integrations/logs", "pos": 3}'),
        b64(b'{"v": 2, "provider": "sendcloud", "stream": "/integrations/logs", "pos": {}}'),
        encode_checkpoint("sendcloud", "/integrations/logs", OffsetPosition(offset=-1)),
        encode_checkpoint("sendcloud", "/integrations/logs", CursorPosition(in_page=-2)),
        encode_checkpoint("elasticpath", "/integrations/logs", OffsetPosition()),
        encode_checkpoint("sendcloud", "/integrations/7/logs", CursorPosition()),
        123,
        b"bytes",
    ],
)
def test_bad_checkpoints_raise_value_error(checkpoint: Any) -> None:
    with pytest.raises(ValueError):
        sendcloud().logs(resume_from=checkpoint)


async def test_checkpoint_from_another_provider_or_stream(mock: aioresponses) -> None:
    sc_server(mock)
    ep_server(mock)
    ep = elasticpath()
    sc = sendcloud()
    async with ep, sc:
        _, sc_checkpoint = await take(sc.logs(), 2)
        _, ep_checkpoint = await take(ep.logs(page_size=3), 2)
        attempts: list[Callable[[], Any]] = [
            lambda: ep.logs(resume_from=sc_checkpoint),
            lambda: sc.logs(resume_from=ep_checkpoint),
            lambda: sc.integration_logs(7, resume_from=sc_checkpoint),
            lambda: ep.integration_logs("int-1", resume_from=ep_checkpoint),
            lambda: ep.jobs("int-1", resume_from=ep_checkpoint),
        ]
        for attempt in attempts:
            with pytest.raises(ValueError, match="resume it with the same method"):
                attempt()
