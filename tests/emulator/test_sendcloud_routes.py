"""Sendcloud v2 endpoints of the emulator: listings, cursors, auth, errors, log creation."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator
from integration_logs_async.testing import EmulatorFactory

from . import _schemas as schemas
from ._helpers import basic, ep_headers, get, sendcloud_bearer, walk_sendcloud


async def test_integrations_list_matches_spec(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, emulator.sendcloud_url + "/integrations", basic(emulator))
    assert status == 200
    schemas.check(body, *schemas.SENDCLOUD_INTEGRATIONS)
    assert [i["id"] for i in body] == emulator.store.sendcloud_integration_ids
    assert {"shopify", "woocommerce", "magento_2"} <= {i["system"] for i in body}


async def test_single_integration(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    first = emulator.store.sendcloud_integration_ids[0]
    status, body = await get(
        http, f"{emulator.sendcloud_url}/integrations/{first}", basic(emulator)
    )
    assert status == 200 and body["id"] == first
    schemas.check(body, *schemas.SENDCLOUD_INTEGRATION)
    status, body = await get(http, emulator.sendcloud_url + "/integrations/1", basic(emulator))
    assert status == 404
    schemas.check(body, *schemas.SENDCLOUD_404)


async def test_first_page_shape(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.sendcloud_url + "/integrations/logs"
    async with http.get(url, headers=basic(emulator)) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        raw = await response.read()
    body = json.loads(raw)
    assert body["previous"] is None
    assert body["next"].startswith(f"http://127.0.0.1:{emulator.port}/api/v2/integrations/logs?")
    assert "cursor" in parse_qs(urlsplit(body["next"]).query)
    assert len(body["results"]) == 100
    ids = [log["id"] for log in body["results"]]
    assert ids == sorted(ids, reverse=True)
    expected = b",".join(emulator.store.sendcloud_logs[:100])
    assert raw.split(b'"results":[', 1)[1] == expected + b"]}"
    for log in body["results"]:
        schemas.check(log, *schemas.SENDCLOUD_LOG)


async def test_cursor_walk_visits_every_record_once(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    url = emulator.sendcloud_url + "/integrations/logs?page_size=17"
    logs = await walk_sendcloud(http, url, basic(emulator))
    assert [log["id"] for log in logs] == emulator.store.sendcloud_logs.ids()


async def test_previous_links_walk_back(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.sendcloud_url + "/integrations/logs?page_size=25"
    headers = basic(emulator)
    last_url = url
    while True:
        status, body = await get(http, last_url, headers)
        if body["next"] is None:
            break
        last_url = body["next"]
    assert body["previous"] is not None
    pages = []
    previous: str | None = last_url
    while previous:
        status, body = await get(http, previous, headers)
        assert status == 200
        pages.append([log["id"] for log in body["results"]])
        previous = body["previous"]
    ids = [log_id for page in reversed(pages) for log_id in page]
    assert ids == emulator.store.sendcloud_logs.ids()


async def test_integration_logs_partition_all_logs(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    seen: list[int] = []
    for integration_id in emulator.store.sendcloud_integration_ids:
        url = f"{emulator.sendcloud_url}/integrations/{integration_id}/logs?page_size=9"
        logs = await walk_sendcloud(http, url, basic(emulator))
        assert {log["integration_id"] for log in logs} <= {integration_id}
        assert [log["id"] for log in logs] == emulator.store.sendcloud_logs_for(
            integration_id
        ).ids()
        seen += [log["id"] for log in logs]
    assert sorted(seen) == sorted(emulator.store.sendcloud_logs.ids())


async def test_page_size_clamped_and_params_kept(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(logs=620, integrations=2)
    headers = basic(emu)
    _, body = await get(http, emu.sendcloud_url + "/integrations/logs?page_size=9999", headers)
    assert len(body["results"]) == 500
    _, body = await get(
        http, emu.sendcloud_url + "/integrations/logs?page_size=abc&ordering=x", headers
    )
    assert len(body["results"]) == 100
    query = parse_qs(urlsplit(body["next"]).query)
    assert query["page_size"] == ["abc"] and query["ordering"] == ["x"]


async def test_unknown_integration_404(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, body = await get(
        http, emulator.sendcloud_url + "/integrations/999/logs", basic(emulator)
    )
    assert status == 404
    assert body == {
        "error": {
            "code": 404,
            "message": "No Integration matches the given query.",
            "request": "api/v2/integrations/999/logs",
        }
    }
    status, body = await get(
        http, emulator.sendcloud_url + "/integrations/abc/logs", basic(emulator)
    )
    assert status == 404


@pytest.mark.parametrize("cursor", ["garbage!", base64.b64encode(b"q=1").decode(), "cD1hYmM="])
async def test_invalid_cursor_404(
    emulator: Emulator, http: aiohttp.ClientSession, cursor: str
) -> None:
    url = emulator.sendcloud_url + "/integrations/logs"
    async with http.get(url, params={"cursor": cursor}, headers=basic(emulator)) as response:
        assert response.status == 404
        body = await response.json()
    assert body["error"]["code"] == 404 and body["error"]["message"] == "Invalid cursor"


async def test_bad_credentials_401(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.sendcloud_url + "/integrations/logs"
    wrong = base64.b64encode(f"{emulator.sendcloud_public_key}:nope".encode()).decode()
    attempts = [
        {},
        {"Authorization": "Basic " + wrong},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer unknown"},
        await ep_headers(http, emulator),  # an Elastic Path token is not a Sendcloud one
    ]
    for headers in attempts:
        async with http.get(url, headers=headers) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == 'Basic realm="api"'
            body = await response.json()
        assert body == {
            "error": {
                "code": 401,
                "message": "Invalid username/password.",
                "request": "api/v2/integrations/logs",
            }
        }


async def test_oauth_token_and_bearer(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await sendcloud_bearer(http, emulator)
    status, body = await get(http, emulator.sendcloud_url + "/integrations/logs", headers)
    assert status == 200 and len(body["results"]) == 100
    record = emulator.requests[-1]
    assert (record.auth_scheme, record.credential) == ("bearer", emulator.sendcloud_client_id)
    emulator.expire_tokens()
    assert (await get(http, emulator.sendcloud_url + "/integrations", headers))[0] == 401


async def test_oauth_token_answers(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.sendcloud_client_id,
        "client_secret": emulator.sendcloud_client_secret,
    }
    async with http.post(emulator.sendcloud_token_url + "/", data=form) as response:
        assert response.status == 200
        token = await response.json()
    assert token["token_type"] == "Bearer" and token["scope"] == "api"
    assert token["expires_in"] == 3600 and isinstance(token["access_token"], str)
    bad = {**form, "client_secret": "nope"}
    async with http.post(emulator.sendcloud_token_url, data=bad) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "invalid_client"
    for broken in ({**form, "grant_type": "password"}, {**form, "scope": "admin"}):
        async with http.post(emulator.sendcloud_token_url, data=broken) as response:
            assert response.status == 400


async def test_create_log(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    integration_id = emulator.store.sendcloud_integration_ids[1]
    url = f"{emulator.sendcloud_url}/integrations/{integration_id}/logs"
    payload = {
        "base_url": "https://example.com",
        "full_url": "https://example.com/order-note.json",
        "method": "POST",
        "response_code": 495,
        "response": {"headers": {"Content-Type": "text/html"}, "body": "<html></html>"},
        "request": {"headers": {"Accept": "*/*"}, "payload": {"order_note": {"note": "x"}}},
        "exception_type": "requests.exceptions.SSLError",
        "exception": "An SSL error occurred",
    }
    newest = emulator.store.sendcloud_logs.ids()[0]
    async with http.post(url, json=payload, headers=basic(emulator)) as response:
        assert response.status == 201
        raw = await response.read()
    created = json.loads(raw)
    schemas.check(created, *schemas.SENDCLOUD_LOG)
    assert created["id"] > newest and created["integration_id"] == integration_id
    assert created["protected"] is False and created["created_at"]
    assert {k: created[k] for k in payload} == payload
    assert emulator.store.sendcloud_log(created["id"]) == raw
    _, page = await get(http, url, basic(emulator))
    assert page["results"][0] == created


async def test_create_log_errors(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    integration_id = emulator.store.sendcloud_integration_ids[0]
    url = f"{emulator.sendcloud_url}/integrations/{integration_id}/logs"
    for payload, field in (
        ({"method": "GET"}, "base_url"),
        ({"base_url": ""}, "base_url"),
        ({"base_url": "https://x.example", "response_code": "500"}, "response_code"),
        ({"base_url": "https://x.example", "response": []}, "response"),
    ):
        async with http.post(url, json=payload, headers=basic(emulator)) as response:
            assert response.status == 400
            body = await response.json()
        schemas.check(body, *schemas.SENDCLOUD_400)
        assert body["error"]["code"] == 400 and field in body["error"]["message"]
    async with http.post(url, data=b"{not json", headers=basic(emulator)) as response:
        assert response.status == 400
    missing = f"{emulator.sendcloud_url}/integrations/1/logs"
    async with http.post(missing, json={"base_url": "x"}, headers=basic(emulator)) as response:
        assert response.status == 404


async def test_growth_during_cursor_walk(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = basic(emulator)
    before = emulator.store.sendcloud_logs.ids()
    _, body = await get(http, emulator.sendcloud_url + "/integrations/logs?page_size=30", headers)
    seen = [log["id"] for log in body["results"]]
    added = emulator.add_logs("sendcloud", 45)
    seen += [log["id"] for log in await walk_sendcloud(http, body["next"], headers)]
    assert seen == before and len(set(seen)) == len(seen)
    _, fresh = await get(http, emulator.sendcloud_url + "/integrations/logs?page_size=45", headers)
    assert [log["id"] for log in fresh["results"]] == list(reversed(added))
    assert fresh["next"] is not None


async def test_previous_after_growth_shows_new_logs(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    headers = basic(emulator)
    _, first = await get(http, emulator.sendcloud_url + "/integrations/logs?page_size=10", headers)
    _, second = await get(http, first["next"], headers)
    added = emulator.add_logs("sendcloud", 3)
    _, back = await get(http, second["previous"], headers)
    ids = [log["id"] for log in back["results"]]
    assert ids == [log["id"] for log in first["results"]]
    assert back["previous"] is not None
    _, newest = await get(http, back["previous"], headers)
    assert [log["id"] for log in newest["results"]] == list(reversed(added))
    assert newest["previous"] is None


async def test_record_shapes_and_mix(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(logs=400, protected_ratio=0.1)
    logs = await walk_sendcloud(
        http, emu.sendcloud_url + "/integrations/logs?page_size=500", basic(emu)
    )
    for log in logs:
        schemas.check(log, *schemas.SENDCLOUD_LOG)
    codes = {log["response_code"] for log in logs}
    assert {401, 403, 404, 429, 495, 500, 502, 503, None} <= codes
    # The documented example shapes: an empty response/payload without exception_type...
    assert any(
        log["response"] == {}
        and log["request"]["payload"] in ({}, "***")
        and "exception_type" not in log
        for log in logs
    )
    # ...request headers logged as one string, no response at all, JSON and HTML bodies.
    assert any(isinstance(log["request"] and log["request"]["headers"], str) for log in logs)
    assert any(log["response"] is None for log in logs)
    bodies = [log["response"].get("body") for log in logs if log["response"]]
    assert any(isinstance(body, dict) for body in bodies)
    html = [body for body in bodies if isinstance(body, str) and body.startswith("<!")]
    assert html and max(len(body) for body in html) > 1500
    assert all(1000 <= len(body) <= 3500 for body in html if "SSL" not in body)
    protected = [log for log in logs if log["protected"]]
    assert protected and all(
        log["response"] is None or log["response"].get("body") in (None, "***") for log in protected
    )
    assert all(log["created_at"][-6] in "+-" for log in logs)


async def test_records_keep_the_documented_key_order(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    """Generated and posted logs list their keys as the spec and its examples do."""
    documents = schemas._documents()
    documented = list(
        documents["urn:sendcloud"]["components"]["schemas"]["IntegrationLog"]["properties"]
    )
    assert documented[7:10] == ["response", "request", "created_at"]  # the big part mid-record
    emu = await emulator_factory(logs=300, protected_ratio=0.2)
    integration_id = emu.store.sendcloud_integration_ids[0]
    url = f"{emu.sendcloud_url}/integrations/{integration_id}/logs"
    posted = {"base_url": "https://example.com", "exception": "x", "response": {}, "method": "GET"}
    async with http.post(url, json=posted, headers=basic(emu)) as response:
        assert response.status == 201
    logs = await walk_sendcloud(
        http, emu.sendcloud_url + "/integrations/logs?page_size=500", basic(emu)
    )
    assert len(logs) == 301
    for log in logs:
        assert list(log) == [key for key in documented if key in log]


async def test_custom_prefix(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(sendcloud_prefix="/sc/api/v2", logs=10)
    assert emu.sendcloud_url.endswith("/sc/api/v2")
    status, body = await get(http, emu.sendcloud_url + "/integrations/logs", basic(emu))
    assert status == 200 and len(body["results"]) == 10 and body["next"] is None
