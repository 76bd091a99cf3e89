"""SendcloudClient: request shapes and cursor pagination."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from aioresponses import aioresponses

from integration_logs_async import (
    BasicAuth,
    DecodeError,
    Page,
    PaginationError,
    SendcloudClient,
    SendcloudIntegrationLog,
    UnsafeURLError,
)

from .._support.clients import FAST
from .._support.tasks import other_tasks
from ._fakes import SC_BASE, SC_LOGS, FakeSendcloud, calls, requested, sc_log, total_requests


def client(**settings: Any) -> SendcloudClient:
    made: SendcloudClient = SendcloudClient(BasicAuth("pub", "sec"), **{**FAST, **settings})
    return made  # settings spread from a dict: the overloads cannot tell the version


def ids(records: list[Any]) -> list[int]:
    return [int(r.id) if not isinstance(r, dict) else int(r["id"]) for r in records]


def three_pages() -> list[list[dict[str, Any]]]:
    return [
        [sc_log(1), sc_log(2), sc_log(3)],
        [sc_log(4), sc_log(5), sc_log(6)],
        [sc_log(7), sc_log(8)],
    ]


async def test_logs_first_request_shape(mock: aioresponses) -> None:
    mock.get(SC_LOGS, payload={"next": None, "previous": None, "results": [sc_log(1)]})
    async with client() as c:
        [log] = await c.logs().collect()
    assert isinstance(log, SendcloudIntegrationLog)
    assert log.id == 1
    assert log.created_at == datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert requested(mock) == {("GET", "https://panel.sendcloud.sc/api/v2/integrations/logs"): 1}
    [call] = calls(mock, "GET", SC_LOGS)
    assert call.kwargs["headers"]["Authorization"] == "Basic cHViOnNlYw=="
    assert call.kwargs["headers"]["Accept"] == "application/json"


async def test_page_size_and_integration_path(mock: aioresponses) -> None:
    url = SC_BASE + "/integrations/42/logs?page_size=50"
    mock.get(url, payload={"next": None, "results": []}, repeat=True)
    async with client() as c:
        assert await c.integration_logs(42, page_size=50).collect() == []
        assert await c.integration_logs("42", page_size=50).collect() == []
    assert requested(mock) == {("GET", url): 2}


@pytest.mark.parametrize("page_size", [0, -1, 501, True, 2.5, "10"])
def test_page_size_validation(page_size: Any) -> None:
    c = client()
    with pytest.raises(ValueError, match="page_size must be an integer from 1 to 500"):
        c.logs(page_size=page_size)


@pytest.mark.parametrize("bad", ["a/b", "../x", "..", ".", "", "1?x=2", "1#f", "1%2F", "a b", True])
def test_ids_that_could_alter_the_path_are_rejected(bad: Any) -> None:
    c = client()
    with pytest.raises(ValueError):
        c.integration_logs(bad)


async def test_create_log_rejects_bad_id(mock: aioresponses) -> None:
    async with client() as c:
        with pytest.raises(ValueError, match="integration_id 'a/b' is not a valid id"):
            await c.create_integration_log("a/b", {})
    assert total_requests(mock) == 0


async def test_follows_next_until_null(mock: aioresponses) -> None:
    server = FakeSendcloud(three_pages()).register(mock)
    async with client() as c:
        stream = c.logs()
        records = await stream.collect()
        assert stream.exhausted
    assert ids(records) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert server.seen == [0, 1, 2]
    assert requested(mock) == {
        ("GET", SC_LOGS): 1,
        ("GET", SC_LOGS + "?cursor=c1"): 1,
        ("GET", SC_LOGS + "?cursor=c2"): 1,
    }


async def test_follows_next_until_absent(mock: aioresponses) -> None:
    server = FakeSendcloud(three_pages(), omit_last_next=True).register(mock)
    async with client() as c:
        assert ids(await c.logs().collect()) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert server.seen == [0, 1, 2]


async def test_empty_page_with_next_continues(mock: aioresponses) -> None:
    server = FakeSendcloud([[sc_log(1)], [], [], [sc_log(2)]]).register(mock)
    async with client() as c:
        assert ids(await c.logs().collect()) == [1, 2]
    assert server.seen == [0, 1, 2, 3]


async def test_empty_listing(mock: aioresponses) -> None:
    FakeSendcloud([[]]).register(mock)
    async with client() as c:
        stream = c.logs()
        assert await stream.collect() == []
        assert stream.exhausted
    assert total_requests(mock) == 1


async def test_stream_ending_with_empty_page_is_exhausted(mock: aioresponses) -> None:
    FakeSendcloud([[sc_log(1)], []]).register(mock)
    async with client() as c:
        stream = c.logs()
        assert ids(await stream.collect()) == [1]
        assert stream.exhausted
        resumed = c.logs(resume_from=stream.checkpoint)
        assert await resumed.collect() == []
    assert total_requests(mock) == 2


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.test/api/v2/integrations/logs?cursor=x",  # other host
        "http://panel.sendcloud.sc/api/v2/integrations/logs?cursor=x",  # other scheme
        "https://panel.sendcloud.sc:8443/api/v2/integrations/logs?cursor=x",  # other port
        "https://panel.sendcloud.sc.evil.test/api/v2/integrations/logs",  # lookalike host
    ],
)
async def test_next_leaving_the_origin_is_refused(mock: aioresponses, next_url: str) -> None:
    mock.get(SC_LOGS, payload={"next": next_url, "results": [sc_log(1)]})
    mock.get(next_url, payload={"next": None, "results": [sc_log(2)]})
    got: list[int] = []
    async with client() as c:
        with pytest.raises(UnsafeURLError) as info:
            async for log in c.logs():
                got.append(log.id)
    assert got == [1]
    assert info.value.url == next_url
    assert info.value.expected_origin == "https://panel.sendcloud.sc"
    assert requested(mock) == {("GET", SC_LOGS): 1}  # nothing was sent to next_url


async def test_next_on_default_port_is_same_origin(mock: aioresponses) -> None:
    next_url = "https://panel.sendcloud.sc:443/api/v2/integrations/logs?cursor=2"
    mock.get(SC_LOGS, payload={"next": next_url, "results": [sc_log(1)]})
    mock.get(next_url, payload={"next": None, "results": [sc_log(2)]})
    async with client() as c:
        assert ids(await c.logs().collect()) == [1, 2]


async def test_next_repeating_a_fetched_url_raises(mock: aioresponses) -> None:
    page2 = SC_LOGS + "?cursor=2"
    mock.get(SC_LOGS, payload={"next": page2, "results": [sc_log(1)]})
    mock.get(page2, payload={"next": SC_LOGS, "results": [sc_log(2)]})
    got: list[int] = []
    async with client() as c:
        with pytest.raises(PaginationError, match="repeats a page already fetched"):
            async for log in c.logs():
                got.append(log.id)
    assert got == [1, 2]
    assert requested(mock) == {("GET", SC_LOGS): 1, ("GET", page2): 1}


async def test_next_pointing_at_itself_raises(mock: aioresponses) -> None:
    mock.get(SC_LOGS, payload={"next": SC_LOGS, "results": [sc_log(1)]}, repeat=True)
    async with client() as c:
        with pytest.raises(PaginationError):
            await c.logs().collect()
    assert total_requests(mock) == 1


async def test_max_items_stops_without_extra_requests(mock: aioresponses) -> None:
    server = FakeSendcloud(three_pages()).register(mock)
    async with client() as c:
        assert ids(await c.logs(max_items=4).collect()) == [1, 2, 3, 4]
        assert ids(await c.logs(max_items=3).collect()) == [1, 2, 3]
        assert await c.logs(max_items=0).collect() == []
    assert server.seen == [0, 1, 0]


@pytest.mark.parametrize("max_items", [-1, 1.5, "3"])
def test_max_items_validation(max_items: Any) -> None:
    with pytest.raises(ValueError, match="max_items must be an integer >= 0"):
        client().logs(max_items=max_items)


async def test_pages_yield_page_objects(mock: aioresponses) -> None:
    server = FakeSendcloud(three_pages()).register(mock)
    async with client() as c:
        pages = [page async for page in c.logs().pages()]
    assert [type(p) for p in pages] == [Page, Page, Page]
    assert [ids(list(p.items)) for p in pages] == [[1, 2, 3], [4, 5, 6], [7, 8]]
    assert [p.number for p in pages] == [1, 2, 3]
    assert [p.url for p in pages] == [server.url(0), server.url(1), server.url(2)]
    assert [p.next_url for p in pages] == [server.url(1), server.url(2), None]
    assert [p.last for p in pages] == [False, False, True]
    assert [p.offset for p in pages] == [None, None, None]
    assert [p.total for p in pages] == [None, None, None]
    assert [len(p) for p in pages] == [3, 3, 2]
    assert ids(list(pages[1])) == [4, 5, 6]


async def test_a_pages_checkpoint_is_the_streams_position_after_it(mock: aioresponses) -> None:
    """Page URLs and checkpoints are computed when read, from where the page came from."""
    FakeSendcloud(three_pages()).register(mock)
    async with client() as c:
        stream = c.logs()
        seen = [(page, stream.checkpoint) async for page in stream.pages()]
        for page, checkpoint in seen:
            assert page.checkpoint == checkpoint == page.checkpoint_at(len(page))
        first = seen[0][0]
        with pytest.raises(AttributeError):
            first.number = 5  # type: ignore[misc]
        cut = msgspec.structs.replace(first, items=first.items[:1])
        assert cut.checkpoint == first.checkpoint_at(1) != first.checkpoint
        assert ids(await c.logs(resume_from=cut.checkpoint).collect()) == [2, 3, 4, 5, 6, 7, 8]
        with pytest.raises(ValueError, match=r"consumed must be within 0\.\.3"):
            first.checkpoint_at(4)


async def test_pages_respect_max_items(mock: aioresponses) -> None:
    server = FakeSendcloud(three_pages()).register(mock)
    async with client() as c:
        pages = [page async for page in c.logs(max_items=5).pages()]
    assert [ids(list(p.items)) for p in pages] == [[1, 2, 3], [4, 5]]
    assert [p.last for p in pages] == [False, False]
    assert server.seen == [0, 1]


@pytest.mark.parametrize("stop_after", [1, 3])
async def test_early_stop_makes_no_further_requests(mock: aioresponses, stop_after: int) -> None:
    server = FakeSendcloud(three_pages()).register(mock)
    async with client() as c:
        stream = c.logs()
        async for log in stream:
            if log.id == stop_after:
                break
        await stream.aclose()
        assert stream.consumed == stop_after
        assert other_tasks() == set()
    assert server.seen == [0]


async def test_stream_is_single_use(mock: aioresponses) -> None:
    FakeSendcloud(three_pages()).register(mock)
    async with client() as c:
        stream = c.logs()
        await stream.collect()
        with pytest.raises(RuntimeError, match="already iterated"):
            await stream.collect()
        with pytest.raises(RuntimeError):
            stream.raw()
        with pytest.raises(RuntimeError):
            stream.pages()
    assert repr(stream) == "<AsyncStream sendcloud /integrations/logs consumed=8>"


async def test_raw_records_keep_server_bytes(mock: aioresponses) -> None:
    record = (
        '{ "id" : 5,"base_url":"https://s.example","created_at":"2024-02-03T04:05:06",'
        '\n "extra": {"é": [1, 2.50]}}'
    )
    body = '{"next": null, "results": [' + record + "]}"
    mock.get(SC_LOGS, body=body)
    async with client() as c:
        [raw] = await c.logs().raw().collect()
    assert raw.raw == record.encode()
    assert raw.id == "5"
    assert raw.created_at == datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert raw.integration_id is None


def _page_with(record: bytes) -> bytes:
    return b'{"next": null, "results": [' + record + b"]}"


GOOD_UTF8 = (
    b'{"id": 5, "base_url": "https://s.example/\xc3\xa9", "created_at": "2024-02-03T04:05:06Z"'
)


async def test_non_utf8_in_a_string_handed_out_is_a_decode_error(mock: aioresponses) -> None:
    bad = GOOD_UTF8.replace(b"\xc3\xa9", b"\xc3(") + b"}"
    mock.get(SC_LOGS, body=_page_with(bad), repeat=True)
    async with client(max_attempts=1) as c:
        with pytest.raises(DecodeError, match=r"could not be decoded \(.*(?i:utf-8)"):
            await c.logs().collect()
        with pytest.raises(DecodeError, match=r"could not be decoded \(.*(?i:utf-8)"):
            await c.logs().raw().collect()


async def test_raw_records_are_checked_in_full_typed_records_skip_unknown_fields(
    mock: aioresponses,
) -> None:
    # A stray byte in a field the typed model does not have is skipped with the field; a raw
    # record would write it out, so there it is an error. (Valid non-ASCII raw records:
    # test_raw_records_keep_server_bytes.)
    record = GOOD_UTF8 + b', "extra": "\xff"}'
    mock.get(SC_LOGS, body=_page_with(record), repeat=True)
    async with client(max_attempts=1) as c:
        [log] = await c.logs().collect()
        assert log.base_url == "https://s.example/é"
        with pytest.raises(DecodeError, match=r"could not be decoded \(.*(?i:utf-8)"):
            await c.logs().raw().collect()


async def test_integrations_listing(mock: aioresponses) -> None:
    body = [{"id": 1, "shop_name": "A", "system": "api", "new_field": {"x": 1}}, {"id": 2}]
    mock.get(SC_BASE + "/integrations?ordering=-id", body=json.dumps(body))
    async with client() as c:
        got = await c.integrations(ordering="-id").collect()
    assert [(i.id, i.shop_name, i.system) for i in got] == [(1, "A", "api"), (2, None, None)]
    assert got[1].service_point_carriers == []


async def test_custom_base_url(mock: aioresponses) -> None:
    base = "https://sendcloud.test/api/v2"
    mock.get(base + "/integrations/logs", payload={"results": [sc_log(3)]})
    async with SendcloudClient(BasicAuth("a", "b"), base_url=base + "/", **FAST) as c:
        assert ids(await c.logs().collect()) == [3]
        assert c.base_url == base
