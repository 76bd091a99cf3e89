"""Sendcloud v3 endpoints of the emulator: same store as v2, v3 bodies, ``Link`` paging, errors.

Every v3 answer is validated against Sendcloud's own v3 integrations spec
(``tests/data/reference/sendcloud/v3-integrations-openapi.yaml``, see :mod:`._schemas`).
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator, EmulatorConfig
from integration_logs_async.testing import EmulatorFactory

from . import _schemas as schemas
from ._helpers import basic, ep_headers, get, sendcloud_bearer, walk_sendcloud
from ._v3_http import fetch, ids, walk


@pytest.mark.parametrize("page_size", [1, 17, 25, 100])
async def test_walk_yields_the_v2_records(
    emulator: Emulator, http: aiohttp.ClientSession, page_size: int
) -> None:
    headers = basic(emulator)
    pages = await walk(
        http, f"{emulator.sendcloud_v3_url}/integrations/logs?page_size={page_size}", headers
    )
    v2 = await walk_sendcloud(http, emulator.sendcloud_url + "/integrations/logs", headers)
    assert ids(pages) == [log["id"] for log in v2] == emulator.store.sendcloud_logs.ids()
    assert all(len(page.body["data"]) == page_size for page in pages[:-1])
    v3_logs = [log for page in pages for log in page.body["data"]]
    for old, new in zip(v2, v3_logs, strict=True):
        expected = {key: value for key, value in old.items() if key != "user_id"}
        assert new == {**expected, "additional_data": ""}
        assert list(new)[:2] == ["id", "integration_id"] and list(new)[-1] == "additional_data"


async def test_walk_per_integration(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await sendcloud_bearer(http, emulator)  # OAuth2 works as for v2
    for integration in emulator.store.sendcloud_integration_ids:
        path = f"/integrations/{integration}/logs"
        pages = await walk(http, f"{emulator.sendcloud_v3_url}{path}?page_size=9", headers)
        v2 = await walk_sendcloud(http, emulator.sendcloud_url + path, headers)
        assert ids(pages) == [log["id"] for log in v2] and v2
        assert {log["integration_id"] for p in pages for log in p.body["data"]} == {integration}


async def test_link_rels_and_urls(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = f"{emulator.sendcloud_v3_url}/integrations/logs?page_size=30&extra=x%2By"
    pages = await walk(http, url, basic(emulator))
    assert len(pages) == 4  # 120 logs
    for number, page in enumerate(pages):
        assert ("next" in page.links) is (number < len(pages) - 1)
        assert ("prev" in page.links) is (number > 0)
        for link in page.links.values():
            parts = urlsplit(link)
            assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
                f"{emulator.sendcloud_v3_url}/integrations/logs"
            )
            query = parse_qs(parts.query)
            assert query["page_size"] == ["30"] and query["extra"] == ["x+y"]
            assert base64.b64decode(query["cursor"][0], validate=True)  # opaque base64
    # Walking back along rel="prev" visits the same pages in reverse.
    back = await walk(http, pages[-1].links["prev"], basic(emulator), rel="prev")
    assert [ids([p]) for p in back] == [ids([p]) for p in reversed(pages[:-1])]


async def test_link_header_text(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = f"{emulator.sendcloud_v3_url}/integrations/logs?page_size=10"
    first = await fetch(http, url, basic(emulator))
    async with http.get(first.links["next"], headers=basic(emulator)) as response:
        link = response.headers["Link"]
    assert re.fullmatch(r'<[^>]+&page_size=10>; rel="next", <[^>]+&page_size=10>; rel="prev"', link)
    assert "cursor=" in link


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, 25),
        ("1", 1),
        ("100", 100),
        ("101", 100),
        ("5000", 100),
        ("0", 1),
        ("-3", 1),
        ("abc", 25),
    ],
)
async def test_page_size_bounds(
    emulator: Emulator, http: aiohttp.ClientSession, given: str | None, expected: int
) -> None:
    query = "" if given is None else f"?page_size={given}"
    page = await fetch(
        http, f"{emulator.sendcloud_v3_url}/integrations/logs{query}", basic(emulator)
    )
    assert page.status == 200 and len(page.body["data"]) == expected
    assert parse_qs(urlsplit(page.links["next"]).query)["page_size"] == [str(expected)]


async def test_page_size_config_and_prefix(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(
        logs=50, sendcloud_v3_prefix="/v3", sendcloud_v3_page_size=7, sendcloud_v3_max_page_size=8
    )
    assert emu.sendcloud_v3_url == emu.url + "/v3"
    pages = await walk(http, emu.sendcloud_v3_url + "/integrations/logs", basic(emu))
    assert [len(p.body["data"]) for p in pages] == [7] * 7 + [1]
    page = await fetch(http, emu.sendcloud_v3_url + "/integrations/logs?page_size=50", basic(emu))
    assert len(page.body["data"]) == 8


async def test_last_page_has_no_link(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(logs=20)
    page = await fetch(http, emu.sendcloud_v3_url + "/integrations/logs", basic(emu))
    assert len(page.body["data"]) == 20 and page.links == {}


async def test_integrations(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = basic(emulator)
    page = await fetch(http, emulator.sendcloud_v3_url + "/integrations", headers)
    _, v2 = await get(http, emulator.sendcloud_url + "/integrations", headers)
    assert page.status == 200 and not page.links
    v3 = {i["id"]: i for i in page.body["data"]}
    assert (
        sorted(v3)
        == sorted(emulator.store.sendcloud_integration_ids)
        == sorted(i["id"] for i in v2)
    )
    renamed = {
        "type": "system",
        "started_failing_at": "failing_since",
        "last_fetched_at": "last_fetch",
        "updated_at": "last_updated_at",
    }
    for old in v2:
        new = v3[old["id"]]
        assert "system" not in new and new["feedback_type"] in ("eager", "delayed", "none")
        assert all(new[key] == old[was] for key, was in renamed.items())
        assert datetime.fromisoformat(new["created_at"]) < datetime.fromisoformat(new["updated_at"])
        single_url = f"{emulator.sendcloud_v3_url}/integrations/{new['id']}"
        status, single = await get(http, single_url, headers)
        assert status == 200 and single == {"data": new}
        schemas.check(single, *schemas.SC3_INTEGRATION)
    assert list(page.body["data"][0]) == [
        "id", "shop_name", "shop_url", "type", "started_failing_at", "last_fetched_at",
        "created_at", "updated_at", "service_point_enabled", "service_point_carriers",
        "webhook_active", "webhook_url", "feedback_type",
    ]  # fmt: skip


NOT_FOUND = {
    "errors": [
        {
            "status": 404,
            "code": "not_found",
            "title": "Not Found",
            "detail": "The Integration could not be found with the search criteria given",
        }
    ]
}


@pytest.mark.parametrize("path", ["/integrations/1", "/integrations/1/logs", "/integrations/x"])
async def test_unknown_integration(
    emulator: Emulator, http: aiohttp.ClientSession, path: str
) -> None:
    page = await fetch(http, emulator.sendcloud_v3_url + path, basic(emulator))
    assert (page.status, page.body) == (404, NOT_FOUND)
    schemas.check(page.body, *schemas.SC3_404)


@pytest.mark.parametrize("cursor", ["nonsense", "cD1hYmM=", "2023-03-01T02:02:00"])
async def test_invalid_cursor(emulator: Emulator, http: aiohttp.ClientSession, cursor: str) -> None:
    url = f"{emulator.sendcloud_v3_url}/integrations/logs?cursor={cursor}"
    page = await fetch(http, url, basic(emulator))
    assert page.status == 404
    assert page.body["errors"][0] | {"detail": ""} == NOT_FOUND["errors"][0] | {"detail": ""}
    assert page.body["errors"][0]["detail"] == "Invalid cursor"


async def test_unknown_route_and_method(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    page = await fetch(http, emulator.sendcloud_v3_url + "/nothing", basic(emulator))
    assert page.status == 404 and page.body["errors"][0]["code"] == "not_found"
    url = emulator.sendcloud_v3_url + "/integrations/logs"
    async with http.post(url, headers=basic(emulator)) as response:
        assert response.status == 405
        body = await response.json()
    schemas.check(body, *schemas.SC3_ERRORS)
    assert body["errors"][0]["code"] == "method_not_allowed"


async def test_auth_failures(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.sendcloud_v3_url + "/integrations/logs"
    examples = schemas.document("sendcloud-v3")["components"]["responses"]["Unauthorized"]
    examples = examples["content"]["application/json"]["examples"]
    wrong = {"Authorization": "Basic " + base64.b64encode(b"who:what").decode()}
    cases = [
        ({}, "AuthenticationRequired"),
        (wrong, "InvalidCredentials"),
        ({"Authorization": "Bearer not-a-token"}, "InvalidCredentials"),
        (await ep_headers(http, emulator), "InvalidCredentials"),  # another provider's token
    ]
    for headers, example in cases:
        async with http.get(url, headers=headers) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == 'Basic realm="api"'
            body = await response.json()
        schemas.check(body, *schemas.SC3_401)
        assert body == examples[example]["value"]
    emulator.expire_tokens()
    async with http.get(url, headers=await sendcloud_bearer(http, emulator)) as response:
        assert response.status == 200


async def test_added_logs_and_connection_info(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    new = emulator.add_logs("sendcloud", 2, status_code=503)
    page = await fetch(http, emulator.sendcloud_v3_url + "/integrations/logs", basic(emulator))
    assert ids([page])[:2] == list(reversed(new))
    assert page.body["data"][0]["response_code"] == 503
    env, info = emulator.env(), emulator.info()
    assert env["SENDCLOUD_API_V3_BASE_URL"] == info["sendcloud_v3_url"] == emulator.sendcloud_v3_url
    assert env["SENDCLOUD_API_BASE_URL"] == emulator.sendcloud_url == emulator.url + "/api/v2"
    status, admin = await get(http, emulator.admin_url + "/info")
    assert status == 200 and admin["sendcloud_v3_url"] == emulator.sendcloud_v3_url


@pytest.mark.parametrize(
    "options",
    [
        {"sendcloud_v3_prefix": "api/v3"},
        {"sendcloud_v3_prefix": "/api/v3/"},
        {"sendcloud_v3_prefix": "/api/v2"},
        {"sendcloud_v3_prefix": "/api"},
        {"sendcloud_v3_prefix": "/api/v2/v3"},
        {"sendcloud_v3_prefix": "/oauth2"},
        {"sendcloud_v3_page_size": 0},
        {"sendcloud_v3_page_size": 101},
    ],
)
def test_config_validation(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="sendcloud_v3"):
        EmulatorConfig(**options)
