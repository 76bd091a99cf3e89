"""Every ElasticPathClient method against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import msgspec
import pytest

from integration_logs_async import (
    AsyncStream,
    AuthenticationError,
    BadRequestError,
    ClientCredentials,
    ElasticPathClient,
    ElasticPathIntegration,
    ElasticPathIntegrationLog,
    ElasticPathJob,
    NotFoundError,
    OffsetCeilingError,
)
from integration_logs_async._constants import SOCKET_READ_BYTES
from integration_logs_async._http import _socket_reads
from integration_logs_async.emulator import Emulator, FaultConfig
from integration_logs_async.emulator._config import MetaStyle
from integration_logs_async.testing import EmulatorFactory

from .._support.clients import FAST, elasticpath
from ._helpers import assert_exactly, take

UNKNOWN = "00000000-0000-4000-8000-000000000000"

pytestmark = pytest.mark.emulator(seed=21, integrations=5, jobs_per_integration=3, logs=900)


def ids(values: Iterable[Any]) -> list[str]:
    """Ids of records (or of ids) as strings."""
    return [str(getattr(v, "id", v)) for v in values]


@pytest.mark.parametrize("prefetch", [4, 0])
async def test_logs_reads_every_log(emulator: Emulator, prefetch: int) -> None:
    store = emulator.store.elasticpath_logs
    async with elasticpath(emulator, prefetch_pages=prefetch) as client:
        logs = await client.logs().collect()
    assert_exactly(ids(logs), ids(store.ids()))
    assert all(isinstance(log, ElasticPathIntegrationLog) for log in logs)
    for log, raw in zip(logs[:30], store[:30], strict=True):
        wire = json.loads(raw)
        assert log.integration_id == wire["relationships"]["integration"]["data"]["id"]
        assert log.job_id == wire["relationships"]["job"]["data"]["id"]
        assert log.succeeded == wire["succeeded"]
        assert log.status_code == wire.get("status_code")
        assert log.attempt == wire["attempt"]
        assert log.created_at is not None and log.created_at.tzinfo is not None
    decoder = msgspec.json.Decoder(ElasticPathIntegrationLog)
    assert logs == [decoder.decode(raw) for raw in store]


@pytest.mark.parametrize("page_size", [2, 25, 99, 100])
async def test_logs_pages_overlap_by_one_and_report_the_total(
    emulator: Emulator, page_size: int
) -> None:
    store_ids = ids(emulator.store.elasticpath_logs.ids())
    async with elasticpath(emulator) as client:
        pages = [page async for page in client.logs(page_size=page_size).pages()]
    got = [str(log.id) for page in pages for log in page]
    assert_exactly(got, store_ids)
    assert all(page.total == len(store_ids) for page in pages)
    assert pages[-1].last and not any(page.last for page in pages[:-1])
    assert [page.offset for page in pages][:3] == [0, page_size, 2 * page_size - 1]
    # every request after the first asks for the offset of the last record already seen
    offsets = sorted(
        int(parse_qs(r.query_string)["page[offset]"][0])
        for r in emulator.requests
        if r.category == "data"
    )
    assert offsets == [0, *range(page_size - 1, len(store_ids) - 1, page_size - 1)]


async def test_raw_records_are_the_servers_bytes(emulator: Emulator) -> None:
    store = emulator.store.elasticpath_logs
    async with elasticpath(emulator) as client:
        raw = await client.logs().raw().collect()
    assert [r.raw for r in raw] == list(store)
    wire = json.loads(raw[0].raw)
    assert raw[0].id == wire["id"]
    assert raw[0].integration_id == wire["relationships"]["integration"]["data"]["id"]
    assert raw[0].job_id == wire["relationships"]["job"]["data"]["id"]
    assert raw[0].created_at is not None


async def test_logs_max_items(emulator: Emulator) -> None:
    async with elasticpath(emulator) as client:
        logs = await client.logs(page_size=50, max_items=120).collect()
    assert ids(logs) == ids(emulator.store.elasticpath_logs.ids())[:120]
    # 50 + 49 + 49 >= 120: three pages, and nothing is prefetched beyond max_items
    assert len([r for r in emulator.requests if r.category == "data"]) == 3


@pytest.mark.parametrize("page_size", [None, 2])
async def test_integrations(emulator: Emulator, page_size: int | None) -> None:
    async with elasticpath(emulator) as client:
        integrations = await client.integrations(page_size=page_size).collect()
    # listed newest first: the reverse of the store's creation order
    assert ids(integrations) == emulator.store.elasticpath_integration_ids[::-1]
    for integration in integrations:
        assert isinstance(integration, ElasticPathIntegration)
        obj = emulator.store.elasticpath.integrations[
            emulator.store.elasticpath.integration_index(integration.id) or 0
        ].obj
        assert integration.name == obj["name"]
        assert integration.integration_type == obj["integration_type"]
        assert integration.enabled == obj["enabled"]
        assert integration.observes == obj["observes"]
        assert integration.links is not None
        assert integration.links["self"] == f"{emulator.url}/v2/integrations/{integration.id}"


async def test_integration_logs_jobs_and_job_logs(emulator: Emulator) -> None:
    store = emulator.store
    seen: list[str] = []
    async with elasticpath(emulator) as client:
        for integration_id in store.elasticpath_integration_ids:
            logs = await client.integration_logs(integration_id, page_size=40).collect()
            assert_exactly(ids(logs), ids(store.elasticpath_logs_for(integration_id).ids()))
            assert {log.integration_id for log in logs} <= {integration_id}
            jobs = await client.jobs(integration_id, page_size=2).collect()
            assert all(isinstance(job, ElasticPathJob) for job in jobs)
            assert ids(jobs) == store.jobs(integration_id)
            for job in jobs:
                job_logs = await client.job_logs(integration_id, job.id, page_size=30).collect()
                expected = ids(store.elasticpath_logs_for(integration_id, job.id).ids())
                assert_exactly(ids(job_logs), expected)
                assert {(log.integration_id, log.job_id) for log in job_logs} <= {
                    (integration_id, job.id)
                }
                seen += ids(job_logs)
        assert client.stats.token_requests == 1
    assert sorted(seen) == sorted(ids(store.elasticpath_logs.ids()))


async def test_unknown_ids_are_not_found(emulator: Emulator) -> None:
    known = emulator.store.elasticpath_integration_ids[0]
    job = emulator.store.jobs(emulator.store.elasticpath_integration_ids[1])[0]
    async with elasticpath(emulator) as client:
        streams: list[AsyncStream[Any]] = [
            client.integration_logs(UNKNOWN),
            client.jobs(UNKNOWN),
            client.job_logs(UNKNOWN, job),
            client.job_logs(known, UNKNOWN),
            client.job_logs(known, job),  # a job of another integration
        ]
        for stream in streams:
            with pytest.raises(NotFoundError) as info:
                await stream.collect()
            err = info.value
            assert err.status == 404 and err.method == "GET"
            assert err.url.startswith(emulator.url + stream.key)
            # The JSON:API error object is parsed.
            assert [(e.status, e.title, e.detail) for e in err.errors] == [
                (404, "Not Found", "The resource could not be found")
            ]
            assert "HTTP 404" in str(err) and "could not be found" in str(err)
    assert [r.status for r in emulator.requests if r.category == "data"] == [404] * 5


@pytest.mark.parametrize("under_data", [False, True], ids=["flat-token", "token-under-data"])
@pytest.mark.parametrize("meta_style", ["flat", "nested"])
async def test_token_forms_and_meta_styles(
    emulator_factory: EmulatorFactory, under_data: bool, meta_style: MetaStyle
) -> None:
    emu = await emulator_factory(
        seed=5,
        integrations=2,
        logs=500,
        ep_token_under_data=under_data,
        ep_meta_style=meta_style,
        # a little latency so that concurrent (prefetched) requests overlap at the server
        faults=FaultConfig(rates={"latency": 1.0}, latency_seconds=0.02),
    )
    store_ids = ids(emu.store.elasticpath_logs.ids())
    async with elasticpath(emu) as client:
        pages = [page async for page in client.logs(page_size=60).pages()]
        integrations = await client.integrations().collect()
        assert client.stats.token_requests == 1
    assert_exactly([str(log.id) for page in pages for log in page], store_ids)
    # the total is read from either meta layout, so the next pages were prefetched
    assert {page.total for page in pages} == {len(store_ids)}
    assert ids(integrations) == emu.store.elasticpath_integration_ids[::-1]
    tokens = [r for r in emu.requests if r.category == "token"]
    assert [(r.path, r.status, r.auth_scheme) for r in tokens] == [
        ("/oauth/access_token", 200, "form")
    ]
    assert {r.auth_scheme for r in emu.requests if r.category == "data"} == {"bearer"}
    assert emu.max_in_flight > 1  # prefetching needs the total


async def test_explicit_token_url(emulator: Emulator) -> None:
    auth = ClientCredentials(
        emulator.epcc_client_id,
        emulator.epcc_client_secret,
        token_url=emulator.elasticpath_token_url,
    )
    async with ElasticPathClient(auth, base_url=emulator.elasticpath_url, **FAST) as client:
        assert len(await client.logs().collect()) == 900


async def test_wrong_client_secret_raises_authentication_error(emulator: Emulator) -> None:
    auth = ClientCredentials(emulator.epcc_client_id, "not-the-secret")
    async with ElasticPathClient(auth, base_url=emulator.elasticpath_url, **FAST) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.logs().collect()
    assert "not-the-secret" not in str(info.value)
    assert [r.category for r in emulator.requests] == ["token"]


async def test_expired_token_is_refreshed_and_replayed(emulator: Emulator) -> None:
    async with elasticpath(emulator, prefetch_pages=2) as client:
        got = []
        async for log in client.logs(page_size=50):
            got.append(log.id)
            if len(got) in (100, 400):
                emulator.expire_tokens()
        assert client.stats.token_requests == 3
    assert_exactly(got, ids(emulator.store.elasticpath_logs.ids()))


# --- the offset ceiling -------------------------------------------------------------------------


async def test_offset_ceiling_stops_logs_but_not_logs_by_job(
    emulator_factory: EmulatorFactory,
) -> None:
    ceiling = 10_000
    emu = await emulator_factory(
        seed=8, integrations=8, jobs_per_integration=3, logs=12_000, ep_offset_ceiling=ceiling
    )
    store = emu.store
    store_ids = ids(store.elasticpath_logs.ids())
    biggest_job = max(
        len(store.elasticpath_logs_for(i, j))
        for i in store.elasticpath_integration_ids
        for j in store.jobs(i)
    )
    assert biggest_job < ceiling  # premise: every job's listing is under the ceiling

    got: list[str] = []
    async with elasticpath(emu) as client:
        with pytest.raises(BadRequestError) as info:
            async for log in client.logs():
                got.append(log.id)
    err = info.value
    assert err.status == 400
    assert "page[offset]" in str(err) and f"must not exceed {ceiling}" in str(err)
    assert [e.status for e in err.errors] == [400]
    assert isinstance(err, OffsetCeilingError) and "logs_by_job()" in str(err)  # says what to do
    # what came before the error is an exact prefix of the listing
    assert len(got) >= ceiling
    assert got == store_ids[: len(got)]

    emu.reset_stats()
    async with elasticpath(emu) as client:
        fanout = client.logs_by_job(concurrency=8).raw()
        records = await fanout.collect()
    assert_exactly(sorted(r.id for r in records), sorted(store_ids))
    by_id = {
        str(i): raw
        for i, raw in zip(store.elasticpath_logs.ids(), store.elasticpath_logs, strict=True)
    }
    assert all(r.raw == by_id[r.id] for r in records)
    assert emu.requests and not any(r.status == 400 for r in emu.requests)


async def test_created_at_is_aware(emulator: Emulator) -> None:
    async with elasticpath(emulator) as client:
        logs = await client.logs(max_items=5).collect()
    for log, raw in zip(logs, emulator.store.elasticpath_logs[:5], strict=True):
        stamp = json.loads(raw)["meta"]["timestamps"]["created_at"]
        assert log.created_at is not None
        assert log.created_at.replace(microsecond=0) == datetime.fromisoformat(
            stamp[:19] + "+00:00"
        )


# --- every listing resumes from its checkpoint on a new client ---------------------------------


async def test_every_listing_resumes_exactly(emulator: Emulator) -> None:
    store = emulator.store
    integration_id = store.elasticpath_integration_ids[0]
    job_id = store.jobs(integration_id)[1]
    OpenStream = Callable[[ElasticPathClient, str | None], AsyncStream[Any]]
    listings: dict[str, tuple[OpenStream, list[str]]] = {
        "integrations": (
            lambda c, cp: c.integrations(page_size=2, resume_from=cp),
            store.elasticpath_integration_ids[::-1],
        ),
        "logs": (
            lambda c, cp: c.logs(page_size=40, resume_from=cp),
            ids(store.elasticpath_logs.ids()),
        ),
        "integration_logs": (
            lambda c, cp: c.integration_logs(integration_id, page_size=40, resume_from=cp),
            ids(store.elasticpath_logs_for(integration_id).ids()),
        ),
        "jobs": (
            lambda c, cp: c.jobs(integration_id, page_size=2, resume_from=cp),
            store.jobs(integration_id),
        ),
        "job_logs": (
            lambda c, cp: c.job_logs(integration_id, job_id, page_size=15, resume_from=cp),
            ids(store.elasticpath_logs_for(integration_id, job_id).ids()),
        ),
    }
    for name, (open_stream, expected) in listings.items():
        for cut in sorted({0, 1, 2, 3, 15, 40, 41, len(expected) - 1, len(expected)}):
            if not 0 <= cut <= len(expected):
                continue
            async with elasticpath(emulator) as client:
                records, checkpoint = await take(open_stream(client, None), cut)
                head = [str(record.id) for record in records]
            async with elasticpath(emulator) as client:
                rest = [str(r.id) async for r in open_stream(client, checkpoint).raw()]
            assert head + rest == expected, (name, cut)


async def test_checkpoint_of_another_listing_is_refused(emulator: Emulator) -> None:
    first, second = emulator.store.elasticpath_integration_ids[:2]
    async with elasticpath(emulator) as client:
        stream = client.integration_logs(first)
        async for _ in stream:
            break
        checkpoint = stream.checkpoint
        await stream.aclose()
        with pytest.raises(ValueError, match="checkpoint belongs to"):
            client.integration_logs(second, resume_from=checkpoint)
        with pytest.raises(ValueError, match="checkpoint belongs to"):
            client.logs(resume_from=checkpoint)


async def test_short_lived_tokens_are_refreshed_before_expiry(
    emulator_factory: EmulatorFactory,
) -> None:
    emu = await emulator_factory(seed=9, integrations=2, logs=1_400, token_ttl=1.0)
    async with elasticpath(emu, rate_limit=50) as client:
        got = [r.id async for r in client.logs(page_size=20).raw()]
        assert client.stats.token_requests >= 2
    assert_exactly(got, ids(emu.store.elasticpath_logs.ids()))
    assert not any(r.status == 401 for r in emu.requests)


async def test_waiting_for_a_pooled_connection_is_not_a_connect_timeout(
    emulator_factory: EmulatorFactory,
) -> None:
    """connect_timeout bounds opening a connection, not queueing for one: with a single
    connection and answers slower than connect_timeout, concurrent requests all succeed."""
    emu = await emulator_factory(
        seed=3,
        integrations=4,
        logs=400,
        faults=FaultConfig(rates={"latency": 1.0}, latency_seconds=0.3),
    )
    async with emu.elasticpath_client(max_connections=1, connect_timeout=0.1) as client:
        integrations = await client.integrations().collect()
        streams = [client.integration_logs(str(i.id), max_items=5) for i in integrations]
        results = await asyncio.gather(*(s.collect() for s in streams))
        assert client.stats.retries == 0
    assert len(results) == 4 and all(len(r) == 5 for r in results)
    assert emu.max_in_flight == 1


async def test_connections_of_the_clients_session_read_at_most_the_socket_read_cap(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection the client's own session hands out reads at most SOCKET_READ_BYTES at
    once (asyncio's 256 KiB default falls into glibc's mmap-per-read regime in some
    processes); the transport class, shared by every other connection, is not changed."""
    seen: dict[int, Any] = {}
    original = _socket_reads.cap_socket_reads

    def spy(transport: Any, limit: int = SOCKET_READ_BYTES) -> None:
        seen[id(transport)] = transport
        original(transport, limit)

    monkeypatch.setattr(_socket_reads, "cap_socket_reads", spy)
    async with elasticpath(emulator, prefetch_pages=3) as client:
        got = await client.logs(page_size=50).collect()
        assert_exactly(ids(got), ids(emulator.store.elasticpath_logs.ids()))
        transports = list(seen.values())
        assert len(transports) >= 2  # prefetching used several connections
        assert {t.max_size for t in transports} == {SOCKET_READ_BYTES}
        assert all(type(t).max_size > SOCKET_READ_BYTES for t in transports)
