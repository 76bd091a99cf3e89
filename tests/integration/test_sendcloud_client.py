"""Every SendcloudClient method against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from integration_logs_async import (
    AsyncStream,
    AuthenticationError,
    BadRequestError,
    BasicAuth,
    NotFoundError,
    SendcloudClient,
    SendcloudIntegration,
    SendcloudIntegrationLog,
)
from integration_logs_async._constants import SOCKET_READ_BYTES
from integration_logs_async._http import _body_buffers
from integration_logs_async.emulator import Emulator
from integration_logs_async.testing import EmulatorFactory

from .._support.clients import FAST, sendcloud
from ._helpers import assert_exactly, take

UNKNOWN_ID = 99_999_999
NOT_FOUND_MESSAGE = "No Integration matches the given query."

pytestmark = pytest.mark.emulator(seed=11, integrations=4, logs=450)


def data_requests(emu: Emulator) -> list[str]:
    return [r.auth_scheme or "" for r in emu.requests if r.category == "data"]


@pytest.mark.parametrize("oauth", [False, True], ids=["basic", "oauth2"])
async def test_logs_reads_every_log_newest_first(emulator: Emulator, oauth: bool) -> None:
    store = emulator.store.sendcloud_logs
    async with sendcloud(emulator, oauth=oauth) as client:
        logs = await client.logs(page_size=40).collect()
    assert_exactly([str(log.id) for log in logs], [str(i) for i in store.ids()])
    assert all(isinstance(log, SendcloudIntegrationLog) for log in logs)
    # The typed records carry what the server sent.
    for log, raw in zip(logs[:25], store[:25], strict=True):
        wire = json.loads(raw)
        assert log.integration_id == wire["integration_id"]
        assert log.base_url == wire["base_url"]
        assert log.full_url == wire["full_url"]
        assert log.response_code == wire["response_code"]
        assert log.exception == wire["exception"]
        assert log.protected == wire["protected"]
        assert log.created_at == datetime.fromisoformat(wire["created_at"])
        assert log.created_at.tzinfo is not None
    assert [log.created_at for log in logs] == sorted(
        (log.created_at for log in logs), reverse=True
    )
    expected_scheme = "bearer" if oauth else "basic"
    assert set(data_requests(emulator)) == {expected_scheme}


async def test_logs_pages_follow_the_next_links(emulator: Emulator) -> None:
    total = len(emulator.store.sendcloud_logs)
    async with sendcloud(emulator) as client:
        pages = [page async for page in client.logs(page_size=100).pages()]
    assert [len(p) for p in pages] == [100] * (total // 100) + [total % 100]
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    assert all(p.next_url is not None for p in pages[:-1])
    assert pages[-1].next_url is None and pages[-1].last
    assert all(p.url.startswith(emulator.sendcloud_url) for p in pages)
    listing = [r.path for r in emulator.requests if r.category == "data"]
    assert listing == ["/api/v2/integrations/logs"] * len(pages)


async def test_logs_max_items_stops_requests(emulator: Emulator) -> None:
    async with sendcloud(emulator) as client:
        logs = await client.logs(page_size=50, max_items=120).collect()
    assert [str(log.id) for log in logs] == [str(i) for i in emulator.store.sendcloud_logs.ids()][
        :120
    ]
    assert len([r for r in emulator.requests if r.category == "data"]) == 3


async def test_raw_records_are_the_servers_bytes(emulator: Emulator) -> None:
    store = emulator.store.sendcloud_logs
    async with sendcloud(emulator) as client:
        raw = await client.logs(page_size=500).raw().collect()
    assert [r.raw for r in raw] == list(store)
    assert [r.id for r in raw] == [str(i) for i in store.ids()]
    first = json.loads(raw[0].raw)
    assert raw[0].integration_id == str(first["integration_id"])
    assert raw[0].created_at == datetime.fromisoformat(first["created_at"])


async def test_pages_larger_than_a_socket_read_share_one_receive_buffer(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page arriving in several socket reads is assembled in a pooled buffer that the next
    page reuses; typed and raw records still come out exactly as stored."""
    buffers: list[object] = []
    read = _body_buffers.BodyBuffers.read

    async def spy(self: _body_buffers.BodyBuffers, content: Any, length: int, *more: Any) -> Any:
        body = await read(self, content, length, *more)
        buffers.append(body)
        return body

    monkeypatch.setattr(_body_buffers.BodyBuffers, "read", spy)
    store = emulator.store.sendcloud_logs
    async with sendcloud(emulator, prefetch_pages=0) as client:
        raw = await client.logs(page_size=150).raw().collect()
        typed = await client.logs(page_size=150).collect()
        pages = client.stats.requests
        assert client.stats.bytes_received / pages > SOCKET_READ_BYTES  # several reads each
    assert [r.raw for r in raw] == list(store)
    decoder = msgspec.json.Decoder(SendcloudIntegrationLog)
    assert typed == [decoder.decode(r) for r in store]
    assert len(buffers) == pages >= 6
    assert all(isinstance(b, bytearray) for b in buffers)
    assert len({id(b) for b in buffers}) == 1  # one buffer, reused by every page


@pytest.mark.parametrize("oauth", [False, True], ids=["basic", "oauth2"])
async def test_integration_logs_of_each_integration(emulator: Emulator, oauth: bool) -> None:
    ids = emulator.store.sendcloud_integration_ids
    async with sendcloud(emulator, oauth=oauth) as client:
        for integration_id in ids:
            logs = await client.integration_logs(integration_id, page_size=30).collect()
            expected = emulator.store.sendcloud_logs_for(integration_id).ids()
            assert_exactly([str(log.id) for log in logs], [str(i) for i in expected])
            assert {log.integration_id for log in logs} <= {integration_id}
        # a string id works the same
        first = await client.integration_logs(str(ids[0]), max_items=3).collect()
        assert [log.id for log in first] == emulator.store.sendcloud_logs_for(ids[0]).ids()[:3]
        assert client.stats.token_requests == (1 if oauth else 0)


@pytest.mark.parametrize("oauth", [False, True], ids=["basic", "oauth2"])
async def test_integrations_is_a_plain_list(emulator: Emulator, oauth: bool) -> None:
    async with sendcloud(emulator, oauth=oauth) as client:
        integrations = await client.integrations().collect()
    assert [i.id for i in integrations] == emulator.store.sendcloud_integration_ids
    wire = json.loads(emulator.store.sendcloud.integrations_json)
    for integration, obj in zip(integrations, wire, strict=True):
        assert isinstance(integration, SendcloudIntegration)
        assert integration.shop_name == obj["shop_name"]
        assert integration.shop_url == obj["shop_url"]
        assert integration.system == obj["system"]
        assert integration.webhook_active == obj["webhook_active"]
        assert integration.service_point_carriers == obj["service_point_carriers"]
        assert integration.failing_since == datetime.fromisoformat(obj["failing_since"])


@pytest.mark.parametrize("oauth", [False, True], ids=["basic", "oauth2"])
async def test_create_integration_log_lands_at_the_head(emulator: Emulator, oauth: bool) -> None:
    integration_id = emulator.store.sendcloud_integration_ids[1]
    before = len(emulator.store.sendcloud_logs)
    payload = {
        "base_url": "https://shop.example",
        "full_url": "https://shop.example/api/orders/7",
        "method": "PUT",
        "response_code": 503,
        "exception_type": "requests.exceptions.HTTPError",
        "exception": "503 Server Error: Service Unavailable",
        "response": {"headers": {"Retry-After": "30"}, "body": {"error": "down"}},
        "request": {"headers": {"Accept": "application/json"}, "payload": {"status": "shipped"}},
        "created_at": "2024-06-02T10:00:00+02:00",
    }
    async with sendcloud(emulator, oauth=oauth) as client:
        created = await client.create_integration_log(integration_id, payload)
        head = await client.logs(max_items=1).collect()
        own_head = await client.integration_logs(integration_id, max_items=1).raw().collect()
        others = emulator.store.sendcloud_integration_ids[0]
        other_head = await client.integration_logs(others, max_items=1).collect()
    assert isinstance(created, SendcloudIntegrationLog)
    assert created.integration_id == integration_id
    assert created.base_url == payload["base_url"]
    assert created.full_url == payload["full_url"]
    assert created.method == "PUT"
    assert created.response_code == 503
    assert created.exception == payload["exception"]
    assert created.created_at == datetime(2024, 6, 2, 8, tzinfo=UTC)
    assert created.response is not None and created.response.body == {"error": "down"}
    assert created.request is not None and created.request.payload == {"status": "shipped"}
    # It is the newest log, in both listings, byte for byte as the store holds it.
    assert len(emulator.store.sendcloud_logs) == before + 1
    assert head[0].id == created.id == emulator.store.sendcloud_logs.ids()[0]
    assert own_head[0].id == str(created.id)
    assert own_head[0].raw == emulator.store.sendcloud_log(created.id)
    assert other_head[0].id != created.id
    # A POST is sent once (never retried).
    posts = [r for r in emulator.requests if r.method == "POST" and r.category == "data"]
    assert [(r.path, r.status) for r in posts] == [
        (f"/api/v2/integrations/{integration_id}/logs", 201)
    ]


async def test_create_integration_log_minimal_payload(emulator: Emulator) -> None:
    integration_id = emulator.store.sendcloud_integration_ids[0]
    async with sendcloud(emulator) as client:
        created = await client.create_integration_log(
            integration_id, {"base_url": "https://x.example"}
        )
        logs = await client.logs().collect()
    assert created.method == "GET" and created.full_url is None and created.response is None
    assert created.created_at.tzinfo is not None
    assert logs[0] == created
    assert len(logs) == len({log.id for log in logs}) == len(emulator.store.sendcloud_logs)


async def test_create_integration_log_rejected_payload(emulator: Emulator) -> None:
    integration_id = emulator.store.sendcloud_integration_ids[0]
    async with sendcloud(emulator) as client:
        with pytest.raises(BadRequestError) as info:
            await client.create_integration_log(integration_id, {"response_code": "oops"})
    err = info.value
    assert err.status == 400 and err.method == "POST"
    assert "base_url" in str(err) and "This field is required." in str(err)
    assert len(emulator.store.sendcloud_logs) == 450
    posts = [r for r in emulator.requests if r.method == "POST"]
    assert len(posts) == 1


async def test_unknown_integration_is_not_found(emulator: Emulator) -> None:
    async with sendcloud(emulator) as client:
        with pytest.raises(NotFoundError) as listing:
            await client.integration_logs(UNKNOWN_ID).collect()
        with pytest.raises(NotFoundError) as posting:
            await client.create_integration_log(UNKNOWN_ID, {"base_url": "https://x.example"})
    for info, method in ((listing, "GET"), (posting, "POST")):
        err = info.value
        assert err.status == 404 and err.method == method
        assert f"/integrations/{UNKNOWN_ID}/logs" in err.url
        # The Sendcloud error body {"error": {"code", "message", "request"}} is parsed.
        assert len(err.errors) == 1
        assert err.errors[0].status == 404
        assert err.errors[0].code == "404"
        assert err.errors[0].title == NOT_FOUND_MESSAGE
        assert NOT_FOUND_MESSAGE in str(err) and "HTTP 404" in str(err)
        assert emulator.sendcloud_secret_key not in str(err)
    # 404 is not retried.
    assert [r.status for r in emulator.requests if r.category == "data"] == [404, 404]


async def test_oauth2_token_is_fetched_once_from_the_token_url(emulator: Emulator) -> None:
    async with sendcloud(emulator, oauth=True) as client:
        await client.integrations().collect()
        await client.logs(page_size=100).collect()
        assert client.stats.token_requests == 1
    tokens = [r for r in emulator.requests if r.category == "token"]
    assert [(r.path, r.status, r.auth_scheme) for r in tokens] == [("/oauth2/token", 200, "basic")]
    assert tokens[0].credential == emulator.sendcloud_client_id
    data = [r for r in emulator.requests if r.category == "data"]
    assert {(r.auth_scheme, r.credential) for r in data} == {
        ("bearer", emulator.sendcloud_client_id)
    }


async def test_expired_token_is_refreshed_and_replayed(emulator: Emulator) -> None:
    async with sendcloud(emulator, oauth=True) as client:
        stream = client.logs(page_size=100)
        got = []
        async for log in stream:
            got.append(log.id)
            if len(got) == 150:
                emulator.expire_tokens()
        assert client.stats.token_requests == 2
    assert got == emulator.store.sendcloud_logs.ids()


async def test_wrong_credentials_raise_authentication_error(emulator: Emulator) -> None:
    bad = SendcloudClient(
        BasicAuth(emulator.sendcloud_public_key, "wrong"), base_url=emulator.sendcloud_url, **FAST
    )
    async with bad:
        with pytest.raises(AuthenticationError) as info:
            await bad.integrations().collect()
    assert info.value.status == 401
    assert "wrong" not in str(info.value)


async def test_records_decode_like_the_models(emulator: Emulator) -> None:
    """Typed records equal decoding the exact bytes with the public model."""
    async with sendcloud(emulator) as client:
        typed = await client.logs(page_size=500).collect()
    decoder = msgspec.json.Decoder(SendcloudIntegrationLog)
    assert typed == [decoder.decode(raw) for raw in emulator.store.sendcloud_logs]


@pytest.mark.parametrize("oauth", [False, True], ids=["basic", "oauth2"])
async def test_every_listing_resumes_exactly(emulator: Emulator, oauth: bool) -> None:
    store = emulator.store
    integration_id = store.sendcloud_integration_ids[2]
    OpenStream = Callable[[SendcloudClient, str | None], AsyncStream[SendcloudIntegrationLog]]
    listings: dict[str, tuple[OpenStream, list[str]]] = {
        "logs": (
            lambda c, cp: c.logs(page_size=40, resume_from=cp),
            [str(i) for i in store.sendcloud_logs.ids()],
        ),
        "integration_logs": (
            lambda c, cp: c.integration_logs(integration_id, page_size=25, resume_from=cp),
            [str(i) for i in store.sendcloud_logs_for(integration_id).ids()],
        ),
    }
    for name, (open_stream, expected) in listings.items():
        for cut in (0, 1, 24, 25, 26, 40, 41, len(expected) - 1, len(expected)):
            async with sendcloud(emulator, oauth=oauth) as client:
                records, checkpoint = await take(open_stream(client, None), cut)
                head = [str(record.id) for record in records]
            async with sendcloud(emulator, oauth=oauth) as client:
                rest = [r.id async for r in open_stream(client, checkpoint).raw()]
            assert head + rest == expected, (name, cut)


async def test_checkpoint_of_another_listing_is_refused(emulator: Emulator) -> None:
    first, second = emulator.store.sendcloud_integration_ids[:2]
    async with sendcloud(emulator) as client:
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
    async with sendcloud(emu, oauth=True, rate_limit=50) as client:
        got = [r.id async for r in client.logs(page_size=20).raw()]
        assert client.stats.token_requests >= 2
    assert_exactly(got, [str(i) for i in emu.store.sendcloud_logs.ids()])
    assert not any(r.status == 401 for r in emu.requests)
