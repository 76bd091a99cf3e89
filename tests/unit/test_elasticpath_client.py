"""ElasticPathClient: request shapes and offset pagination with one-record overlap."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aioresponses import aioresponses

from integration_logs_async import (
    BearerToken,
    ElasticPathClient,
    ElasticPathIntegration,
    ElasticPathIntegrationLog,
    ElasticPathJob,
    Page,
    PaginationError,
)

from .._support.clients import FAST
from .._support.tasks import other_tasks
from ._fakes import EP_BASE, FakeElasticPath, calls, ep_log, requested, total_requests


def client(**settings: Any) -> ElasticPathClient:
    return ElasticPathClient(BearerToken("tok"), **{**FAST, **settings})


def listing(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [ep_log(i) for i in range(start, start + n)]


def ids(records: list[Any]) -> list[str]:
    return [r.id for r in records]


def page_url(offset: int, limit: int = 100, path: str = "/v2/integrations/logs") -> str:
    return f"{EP_BASE}{path}?page%5Blimit%5D={limit}&page%5Boffset%5D={offset}"


async def test_first_request_shape(mock: aioresponses) -> None:
    FakeElasticPath(listing(3)).register(mock)
    async with client() as c:
        records = await c.logs().collect()
    assert ids(records) == ["log-0000", "log-0001", "log-0002"]
    assert requested(mock) == {
        (
            "GET",
            "https://useast.api.elasticpath.com/v2/integrations/logs"
            "?page%5Blimit%5D=100&page%5Boffset%5D=0",
        ): 1
    }
    [call] = calls(mock, "GET", page_url(0))
    assert call.kwargs["headers"]["Authorization"] == "Bearer tok"


async def test_endpoints(mock: aioresponses) -> None:
    paths = {
        "integrations": "/v2/integrations",
        "integration_logs": "/v2/integrations/int-9/logs",
        "jobs": "/v2/integrations/int-9/jobs",
        "job_logs": "/v2/integrations/int-9/jobs/job-3/logs",
    }
    for path in paths.values():
        mock.get(page_url(0, 10, path), payload={"data": []})
    async with c_ctx() as c:
        assert await c.integrations(page_size=10).collect() == []
        assert await c.integration_logs("int-9", page_size=10).collect() == []
        assert await c.jobs("int-9", page_size=10).collect() == []
        assert await c.job_logs("int-9", "job-3", page_size=10).collect() == []
    assert requested(mock) == {("GET", page_url(0, 10, p)): 1 for p in paths.values()}


def c_ctx() -> ElasticPathClient:
    return client()


@pytest.mark.parametrize("bad", ["a/b", "..", "", "x?y", "x#y", "x%2Fy", "x y"])
def test_ids_with_path_characters_are_rejected(bad: str) -> None:
    c = client()
    with pytest.raises(ValueError, match="is not a valid id"):
        c.integration_logs(bad)
    with pytest.raises(ValueError, match="is not a valid id"):
        c.jobs(bad)
    with pytest.raises(ValueError, match="integration_id"):
        c.job_logs(bad, "job")
    with pytest.raises(ValueError, match="job_id"):
        c.job_logs("int", bad)


@pytest.mark.parametrize("page_size", [0, 101, -5, True, 10.0, "10"])
def test_page_size_validation(page_size: Any) -> None:
    c = client()
    with pytest.raises(ValueError, match="page_size must be an integer from"):
        c.logs(page_size=page_size)
    with pytest.raises(ValueError, match="page_size must be an integer from"):
        c.jobs("int-1", page_size=page_size)


async def test_second_page_overlaps_the_first_by_one(mock: aioresponses) -> None:
    server = FakeElasticPath(listing(150)).register(mock)
    async with client() as c:
        records = await c.logs().collect()
    assert ids(records) == ids([ElasticPathIntegrationLog(id=f"log-{i:04d}") for i in range(150)])
    assert server.seen == [(0, 100), (99, 100)]
    assert requested(mock) == {("GET", page_url(0)): 1, ("GET", page_url(99)): 1}


@pytest.mark.parametrize("meta", ["flat", "nested"])
@pytest.mark.parametrize("with_total", [True, False])
async def test_meta_shapes(mock: aioresponses, meta: str, with_total: bool) -> None:
    server = FakeElasticPath(listing(7), meta=meta, with_total=with_total).register(mock)
    async with client(prefetch_pages=1) as c:
        pages = [p async for p in c.logs(page_size=3).pages()]
    expected = [
        ["log-0000", "log-0001", "log-0002"],
        ["log-0003", "log-0004"],
        ["log-0005", "log-0006"],
    ]
    if with_total:  # the total says the third page is the last
        assert [ids(list(p.items)) for p in pages] == expected
        assert [p.total for p in pages] == [7, 7, 7]
        assert [p.offset for p in pages] == [0, 3, 5]
        assert [p.last for p in pages] == [False, False, True]
        assert server.offsets == [0, 2, 4]
    else:  # without a total only a short page ends the listing
        assert [ids(list(p.items)) for p in pages] == [*expected, []]
        assert [p.total for p in pages] == [None, None, None, None]
        assert [p.offset for p in pages] == [0, 3, 5, 7]
        assert [p.last for p in pages] == [False, False, False, True]
        assert server.offsets == [0, 2, 4, 6]


async def test_without_meta_a_short_page_stops(mock: aioresponses) -> None:
    server = FakeElasticPath(listing(6), meta="none").register(mock)
    async with client() as c:
        assert ids(await c.logs(page_size=3).collect()) == [f"log-{i:04d}" for i in range(6)]
    assert server.offsets == [0, 2, 4]  # offset 4 held 2 < 3 records: the end


async def test_jobs_example_without_meta(mock: aioresponses) -> None:
    body = {
        "data": [
            {"id": "6560f600", "type": "integration-job"},
            {"id": "353c015a", "type": "integration-job"},
        ]
    }
    mock.get(page_url(0, path="/v2/integrations/int-1/jobs"), payload=body)
    async with client() as c:
        jobs = await c.jobs("int-1").collect()
    assert jobs == [ElasticPathJob(id="6560f600"), ElasticPathJob(id="353c015a")]
    assert total_requests(mock) == 1


@pytest.mark.parametrize("with_total", [True, False])
@pytest.mark.parametrize("prefetch", [0, 4])
async def test_server_applying_a_smaller_limit_does_not_stop_early(
    mock: aioresponses, with_total: bool, prefetch: int
) -> None:
    server = FakeElasticPath(listing(300), server_limit=25, with_total=with_total).register(mock)
    async with client(prefetch_pages=prefetch) as c:
        records = await c.logs().collect()
    assert ids(records) == [f"log-{i:04d}" for i in range(300)]
    assert sorted({offset for offset, _ in server.seen}) == list(range(0, 300, 24))
    assert {limit for _, limit in server.seen} == {100}


async def test_overlapping_record_is_verified(mock: aioresponses) -> None:
    first = listing(100)
    second = listing(100, start=500)  # does not start with log-0099: records were removed
    mock.get(page_url(0), payload={"data": first, "results": {"total": 300}})
    mock.get(page_url(99), payload={"data": second, "results": {"total": 300}}, repeat=True)
    got: list[str] = []
    async with client(prefetch_pages=1) as c:
        with pytest.raises(PaginationError, match="'log-0099' expected at offset 99"):
            async for log in c.logs():
                got.append(log.id)
    assert got == [f"log-{i:04d}" for i in range(100)]


@pytest.mark.parametrize("prefetch", [1, 4])
@pytest.mark.parametrize(("grow_at", "new"), [(99, 2), (198, 2), (99, 60), (198, 99)])
async def test_listing_growing_at_the_head_between_pages(
    mock: aioresponses, prefetch: int, grow_at: int, new: int
) -> None:
    records = listing(250, start=1000)
    grown = False

    async def grow(offset: int, limit: int) -> None:
        nonlocal grown
        if offset == grow_at and not grown:  # new records arrive while we page
            records[:0] = [ep_log(i) for i in reversed(range(new))]
            grown = True

    FakeElasticPath(records, before=grow).register(mock)
    async with client(prefetch_pages=prefetch) as c:
        got = ids(await c.logs().collect())
    assert got == [f"log-{i:04d}" for i in range(1000, 1250)]  # no duplicate, no loss
    assert grown


async def test_listing_growing_by_more_than_a_page(mock: aioresponses) -> None:
    records = listing(30, start=100)

    async def grow(offset: int, limit: int) -> None:
        if offset > 0 and records[0]["id"] == "log-0100":
            records[:0] = listing(15)  # 15 new records > page_size 10

    FakeElasticPath(records, before=grow).register(mock)
    async with client(prefetch_pages=1) as c:
        got = ids(await c.logs(page_size=10).collect())
    assert got == [f"log-{i:04d}" for i in range(100, 130)]


async def test_prefetch_when_total_is_known(mock: aioresponses) -> None:
    requested_offsets: set[int] = set()
    prefetched = asyncio.Event()

    async def before(offset: int, limit: int) -> None:
        requested_offsets.add(offset)
        if {99, 198, 297} <= requested_offsets:
            prefetched.set()
        if offset == 99:
            # The 2nd page only answers once the 3rd and 4th were requested: concurrent.
            await asyncio.wait_for(prefetched.wait(), 1)

    server = FakeElasticPath(listing(450), before=before).register(mock)
    async with client(prefetch_pages=3) as c:
        got = ids(await c.logs().collect())
    assert got == [f"log-{i:04d}" for i in range(450)]
    assert sorted(server.offsets) == [0, 99, 198, 297, 396]


@pytest.mark.parametrize(
    ("with_total", "prefetch", "expected_peak"),
    [(False, 4, 1), (True, 0, 1), (True, 1, 1), (True, 2, 2), (True, 3, 3)],
)
async def test_prefetch_depth(
    mock: aioresponses, with_total: bool, prefetch: int, expected_peak: int
) -> None:
    in_flight = 0
    peak = 0

    async def before(offset: int, limit: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1

    server = FakeElasticPath(listing(350), with_total=with_total, before=before).register(mock)
    async with client(prefetch_pages=prefetch) as c:
        assert ids(await c.logs().collect()) == [f"log-{i:04d}" for i in range(350)]
    assert peak == expected_peak
    assert sorted(server.offsets) == [0, 99, 198, 297]


async def test_prefetch_stops_at_the_total(mock: aioresponses) -> None:
    server = FakeElasticPath(listing(210)).register(mock)
    async with client(prefetch_pages=8) as c:
        assert len(await c.logs().collect()) == 210
    assert sorted(server.offsets) == [0, 99, 198]


async def test_max_items(mock: aioresponses) -> None:
    server = FakeElasticPath(listing(450)).register(mock)
    async with client(prefetch_pages=4) as c:
        got = ids(await c.logs(max_items=150).collect())
    assert got == [f"log-{i:04d}" for i in range(150)]
    assert server.offsets == [0, 99]


async def test_max_items_zero_makes_no_request(mock: aioresponses) -> None:
    async with client() as c:
        assert await c.logs(max_items=0).collect() == []
    assert total_requests(mock) == 0


async def test_pages_yield_page_objects(mock: aioresponses) -> None:
    FakeElasticPath(listing(250)).register(mock)
    async with client(prefetch_pages=1) as c:
        pages = [p async for p in c.logs().pages()]
    assert all(isinstance(p, Page) for p in pages)
    assert [len(p) for p in pages] == [100, 99, 51]
    assert [p.number for p in pages] == [1, 2, 3]
    assert [p.offset for p in pages] == [0, 100, 199]
    assert [p.total for p in pages] == [250, 250, 250]
    assert [p.last for p in pages] == [False, False, True]
    assert [p.url for p in pages] == [page_url(0), page_url(99), page_url(198)]
    assert [p.next_url for p in pages] == [None, None, None]
    assert pages[1].items[0].id == "log-0100"
    assert isinstance(pages[0].items[0], ElasticPathIntegrationLog)


async def test_empty_listing(mock: aioresponses) -> None:
    FakeElasticPath([]).register(mock)
    async with client() as c:
        stream = c.logs()
        assert await stream.collect() == []
        assert stream.exhausted
    assert total_requests(mock) == 1


@pytest.mark.parametrize("stop_at", [0, 50, 99, 100, 150])
async def test_early_stop_makes_no_further_requests(mock: aioresponses, stop_at: int) -> None:
    server = FakeElasticPath(listing(1000)).register(mock)
    async with client(prefetch_pages=4) as c:
        async with c.logs() as stream:
            async for log in stream:
                if log.id == f"log-{stop_at:04d}":
                    break
        seen = len(server.seen)
        assert other_tasks() == set()  # prefetching was cancelled
        await asyncio.sleep(0.01)
        assert len(server.seen) == seen
    if stop_at < 100:
        assert server.offsets == [0]  # page 2 is only requested when page 1 is used up
    else:
        assert len(server.seen) <= 5


async def test_early_stop_of_pages(mock: aioresponses) -> None:
    server = FakeElasticPath(listing(1000), with_total=False).register(mock)
    async with client() as c:
        stream = c.logs()
        async for page in stream.pages():
            assert len(page) == 100
            break
        await stream.aclose()
        assert other_tasks() == set()
    assert server.offsets == [0]


async def test_typed_models_of_listings(mock: aioresponses) -> None:
    integration = {
        "id": "2da46671",
        "type": "integration",
        "name": "Order shipping",
        "description": "d",
        "enabled": True,
        "integration_type": "webhook",
        "observes": ["order.paid"],
        "configuration": {"url": "https://hook.example"},
        "links": {"self": "https://x/v2/integrations/2da46671"},
        "meta": {"timestamps": {"created_at": "2017-07-21T17:32:28Z"}},
        "future_field": 1,
    }
    mock.get(page_url(0, path="/v2/integrations"), body=json.dumps({"data": [integration]}))
    async with client() as c:
        [got] = await c.integrations().collect()
    assert isinstance(got, ElasticPathIntegration)
    assert (got.id, got.name, got.enabled, got.integration_type) == (
        "2da46671",
        "Order shipping",
        True,
        "webhook",
    )
    assert got.observes == ["order.paid"]
    assert got.configuration == {"url": "https://hook.example"}
    assert got.meta is not None and got.meta.timestamps is not None
    assert got.meta.timestamps.created_at == datetime(2017, 7, 21, 17, 32, 28, tzinfo=UTC)


async def test_raw_records(mock: aioresponses) -> None:
    record = (
        '{"id":"a1",  "type":"integration-log","relationships":{"integration":{"data":'
        '{"type":"integration","id":"int-1"}},"job":{"data":{"id":"job-2"}}},"meta":'
        '{"timestamps":{"created_at":"2017-10-30T18:15:40.087650928Z"}},"new":[null]}'
    )
    mock.get(page_url(0), body='{"data":[' + record + '],"results":{"total":1}}')
    async with client() as c:
        [raw] = await c.logs().raw().collect()
    assert raw.raw == record.encode()
    assert (raw.id, raw.integration_id, raw.job_id) == ("a1", "int-1", "job-2")
    assert raw.created_at == datetime(2017, 10, 30, 18, 15, 40, 87651, tzinfo=UTC)


@pytest.mark.parametrize("with_total", [True, False])
async def test_page_size_one_still_advances(mock: aioresponses, with_total: bool) -> None:
    server = FakeElasticPath(listing(4), with_total=with_total).register(mock)
    async with client(prefetch_pages=4) as c:
        got = ids(await c.logs(page_size=1).collect())
    assert got == ["log-0000", "log-0001", "log-0002", "log-0003"]
    # Pages overlap by one record, so page[limit]=2 is the least that makes progress.
    expected = [(0, 2), (1, 2), (2, 2)] if with_total else [(0, 2), (1, 2), (2, 2), (3, 2)]
    assert sorted(server.seen) == expected


async def test_break_without_aclose_stops_prefetching(mock: aioresponses) -> None:
    server = FakeElasticPath(listing(1000)).register(mock)
    # prefetches wait for slots 0.1 s apart: the break lands long before a third request,
    # however busy the machine (at 100/s a loaded CI machine sometimes sent it first)
    async with client(prefetch_pages=4, rate_limit=10) as c:
        stream = c.logs()
        async for log in stream:
            if log.id == "log-0150":
                break
        sent = len(server.seen)
        for _ in range(5):
            await asyncio.sleep(0)
        assert other_tasks() == set()
        await asyncio.sleep(0.1)
        assert len(server.seen) == sent == 2  # pages 1 and 2 only
        await stream.aclose()  # still fine to call


async def test_temporary_stream_break_stops_prefetching(mock: aioresponses) -> None:
    server = FakeElasticPath(listing(1000)).register(mock)
    async with client(prefetch_pages=4, rate_limit=100) as c:
        async for log in c.logs():
            if log.id == "log-0150":
                break
        for _ in range(5):
            await asyncio.sleep(0)
        assert other_tasks() == set()
        sent_at_break = list(server.offsets)
        await asyncio.sleep(0.1)
        # Prefetches already on the wire may complete; nothing new goes out after the break
        # (at 100 requests/s, 4 prefetches would otherwise all be sent within 0.1 s).
        assert server.offsets == sent_at_break
        assert sent_at_break[:2] == [0, 99] and len(sent_at_break) < 2 + 4
