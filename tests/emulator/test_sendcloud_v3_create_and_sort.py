"""Sendcloud v3 log creation (``POST /integrations/{id}/logs``) and ``GET /integrations?sort=``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator

from . import _schemas as schemas
from ._helpers import basic, get, walk_sendcloud
from ._v3_http import fetch, ids

_SPEC = schemas.document("sendcloud-v3")["paths"]["/integrations/{id}/logs"]["post"]
_EXAMPLE_BODY = _SPEC["requestBody"]["content"]["application/json"]["examples"]
_EXAMPLE_400 = _SPEC["responses"]["400"]["content"]["application/json"]["examples"]


async def post(
    http: aiohttp.ClientSession, emu: Emulator, integration: int | str, body: Any
) -> tuple[int, Any]:
    """POST a log to the v3 endpoint; the status and the decoded answer."""
    url = f"{emu.sendcloud_v3_url}/integrations/{integration}/logs"
    async with http.post(url, json=body, headers=basic(emu)) as response:
        return response.status, await response.json()


async def test_create_the_documented_example(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    integration = emulator.store.sendcloud_integration_ids[1]
    example = _EXAMPLE_BODY["CreateIntegrationLog"]["value"]
    schemas.check(example, *schemas.SC3_CREATE_BODY)
    status, body = await post(http, emulator, integration, example)
    assert status == 201
    schemas.check(body, *schemas.SC3_CREATED)
    created = body["data"]
    assert created == {
        "id": created["id"],
        "integration_id": integration,
        **example,
        "protected": False,
        "additional_data": "",
    }
    # The new log heads both versions' listings of the account and of the integration.
    for path in ("/integrations/logs", f"/integrations/{integration}/logs"):
        page = await fetch(http, emulator.sendcloud_v3_url + path, basic(emulator))
        assert page.body["data"][0] == created
        _, v2 = await get(http, emulator.sendcloud_url + path, basic(emulator))
        assert v2["results"][0]["id"] == created["id"]


async def test_create_minimal_body(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    integration = emulator.store.sendcloud_integration_ids[0]
    status, body = await post(http, emulator, integration, {"base_url": "https://x.example"})
    assert status == 201
    schemas.check(body, *schemas.SC3_CREATED)
    created_at = datetime.fromisoformat(body["data"]["created_at"])
    assert created_at.tzinfo is not None and body["data"]["full_url"] is None


async def test_extra_member_is_the_documented_400(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    integration = emulator.store.sendcloud_integration_ids[0]
    body = {"base_url": "https://x.example", "unknown_field": 1}
    status, answer = await post(http, emulator, integration, body)
    assert status == 400
    assert answer == _EXAMPLE_400["ExtraFieldsNotPermitted"]["value"]
    schemas.check(answer, *schemas.SC3_ERRORS)


@pytest.mark.parametrize(
    ("body", "code", "pointer"),
    [
        ({}, "required", "body/base_url"),
        ({"base_url": None}, "null", "body/base_url"),
        ({"base_url": ""}, "invalid", "body/base_url"),
        (
            {"base_url": "https://x.example", "response_code": "500"},
            "invalid",
            "body/response_code",
        ),
        ({"base_url": "https://x.example", "response_code": -1}, "min_value", "body/response_code"),
        ({"base_url": "https://x.example", "response_code": True}, "invalid", "body/response_code"),
        (
            {"base_url": "https://x.example", "created_at": "yesterday"},
            "invalid",
            "body/created_at",
        ),
        ({"base_url": "https://x.example", "request": "GET /"}, "invalid", "body/request"),
        ([], "invalid", "body"),
    ],
)
async def test_invalid_bodies(
    emulator: Emulator, http: aiohttp.ClientSession, body: Any, code: str, pointer: str
) -> None:
    before = len(emulator.store.sendcloud_logs)
    integration = emulator.store.sendcloud_integration_ids[0]
    status, answer = await post(http, emulator, integration, body)
    assert status == 400
    schemas.check(answer, *schemas.SC3_ERRORS)
    (error,) = answer["errors"]
    assert (error["code"], error["source"]["pointer"], error["status"]) == (code, pointer, 400)
    assert len(emulator.store.sendcloud_logs) == before


async def test_create_errors(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, answer = await post(http, emulator, 1, {"base_url": "https://x.example"})
    assert status == 404 and answer["errors"][0]["code"] == "not_found"
    schemas.check(answer, *schemas.SC3_CREATE_404)
    first = emulator.store.sendcloud_integration_ids[0]
    url = f"{emulator.sendcloud_v3_url}/integrations/{first}/logs"
    async with http.post(url, data=b"{not json", headers=basic(emulator)) as response:
        assert response.status == 400
        schemas.check(await response.json(), *schemas.SC3_ERRORS)
    async with http.post(url, json={"base_url": "https://x.example"}) as response:
        assert response.status == 401


def _instant(value: str | None) -> float:
    return datetime.fromisoformat(value).timestamp() if value else float("inf")


@pytest.mark.emulator(integrations=8)
@pytest.mark.parametrize(
    "sort", [None, "integration_type", "-created_at", "updated_at", "-last_fetch", "failing_since"]
)
async def test_sort_integrations(
    emulator: Emulator, http: aiohttp.ClientSession, sort: str | None
) -> None:
    query = "" if sort is None else f"?sort={sort}"
    page = await fetch(http, f"{emulator.sendcloud_v3_url}/integrations{query}", basic(emulator))
    data = page.body["data"]
    assert sorted(i["id"] for i in data) == sorted(emulator.store.sendcloud_integration_ids)
    if sort is None:  # documented default: last_fetch, then created_at
        keys = [(_instant(i["last_fetched_at"]), _instant(i["created_at"])) for i in data]
        assert keys == sorted(keys)
        return
    field = {
        "integration_type": "type",
        "created_at": "created_at",
        "updated_at": "updated_at",
        "last_fetch": "last_fetched_at",
        "failing_since": "started_failing_at",
    }[sort.removeprefix("-")]
    values: list[Any] = [i[field] for i in data]
    if field != "type":
        values = [_instant(v) for v in values]
    assert values == sorted(values, reverse=sort.startswith("-"))


async def test_unknown_sort_key(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    page = await fetch(
        http, f"{emulator.sendcloud_v3_url}/integrations?sort=-system", basic(emulator)
    )
    assert page.status == 400
    (error,) = page.body["errors"]
    assert error["source"] == {"parameter": "sort"} and "-system" in error["detail"]


async def test_v2_walk_sees_v3_created_logs(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    integration = emulator.store.sendcloud_integration_ids[2]
    for _ in range(3):
        assert (await post(http, emulator, integration, {"base_url": "https://x.example"}))[
            0
        ] == 201
    url = f"/integrations/{integration}/logs"
    v2 = await walk_sendcloud(http, emulator.sendcloud_url + url, basic(emulator))
    page = await fetch(http, f"{emulator.sendcloud_v3_url}{url}?page_size=100", basic(emulator))
    assert ids([page]) == [log["id"] for log in v2][:100]
