"""Elastic Path endpoints of the emulator: tokens, offset pagination, links, meta, errors."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from integration_logs_async.emulator import Emulator
from integration_logs_async.testing import EmulatorFactory

from . import _schemas as schemas
from ._helpers import basic, ep_headers, ep_token, get, sendcloud_bearer, walk_elasticpath

CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


def _form(emu: Emulator, **changes: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": emu.epcc_client_id,
        "client_secret": emu.epcc_client_secret,
    }
    return {**form, **changes}


async def test_token_top_level(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.post(emulator.elasticpath_token_url, data=_form(emulator)) as response:
        assert response.status == 200
        token = await response.json()
    schemas.check(token, *schemas.EP_BEARER)
    assert set(token) == {"access_token", "token_type", "expires", "expires_in", "identifier"}
    assert token["token_type"] == "Bearer" and token["identifier"] == "client_credentials"
    assert token["expires_in"] == 3600 and token["expires"] > 1_700_000_000


async def test_token_under_data(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(ep_token_under_data=True, logs=5)
    async with http.post(emu.elasticpath_token_url, data=_form(emu)) as response:
        body = await response.json()
    assert set(body) == {"data"}
    schemas.check(
        body,
        "elasticpath-auth",
        "paths",
        "/oauth/access_token",
        "post",
        "responses",
        "200",
        "content",
        "application/json",
        "schema",
    )
    status, _ = await get(
        http,
        emu.elasticpath_url + "/v2/integrations/logs",
        {"Authorization": "Bearer " + body["data"]["access_token"]},
    )
    assert status == 200


async def test_token_errors(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    for form, status in (
        (_form(emulator, client_secret="nope"), 401),
        (_form(emulator, client_id="someone-else"), 401),
        (_form(emulator, grant_type="implicit"), 400),
        ({}, 400),
    ):
        async with http.post(emulator.elasticpath_token_url, data=form) as response:
            assert response.status == status
            body = await response.json()
        schemas.check(body, *schemas.EP_AUTH_ERROR)


async def test_integrations_listing(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await ep_headers(http, emulator)
    status, body = await get(http, emulator.elasticpath_url + "/v2/integrations", headers)
    assert status == 200
    schemas.check(body, *schemas.ep_listing("/integrations"))
    for item in body["data"]:
        schemas.check(item, *schemas.EP_INTEGRATION)
        assert item["links"]["self"] == f"{emulator.url}/v2/integrations/{item['id']}"
        assert item["meta"]["timestamps"]["created_at"].endswith("Z")
    assert [i["id"] for i in body["data"]][::-1] == emulator.store.elasticpath_integration_ids
    assert body["results"] == {"total": 3}
    first = body["data"][0]
    status, single = await get(http, first["links"]["self"], headers)
    assert status == 200 and single["data"] == first


async def test_logs_default_page(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await ep_headers(http, emulator)
    url = emulator.elasticpath_url + "/v2/integrations/logs"
    async with http.get(url, headers=headers) as response:
        raw = await response.read()
    body = json.loads(raw)
    schemas.check(body, *schemas.ep_listing("/integrations/logs"))
    assert len(body["data"]) == 25
    assert body["meta"] == {"limit": 25, "offset": 0, "current": 1, "total": 5}
    assert body["results"] == {"total": 120}
    assert raw.startswith(b'{"data":[' + b",".join(emulator.store.elasticpath_logs[:25]) + b"]")
    stamps = [log["meta"]["timestamps"]["created_at"] for log in body["data"]]
    assert all(CREATED_AT.match(stamp) for stamp in stamps)
    assert stamps == sorted(stamps, reverse=True)
    for log in body["data"]:
        schemas.check(log, *schemas.EP_LOG)
        assert log["type"] == "integration-log"
        assert log["relationships"]["job"]["data"]["type"] == "integration-job"


def _documented_log_keys() -> list[str]:
    """Keys of the integration log in the docs' example response (reference seed 002)."""
    seed = next((schemas.REFERENCE / "seeds").glob("002_*.txt")).read_text()
    example = json.loads(seed.split("```json", 1)[1].split("```", 1)[0])
    return list(example["data"][0])


async def test_logs_keep_the_documented_key_order(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    documented = _documented_log_keys()
    assert documented[-2:] == ["relationships", "meta"]
    headers = await ep_headers(http, emulator)
    emulator.add_logs("elasticpath", 3)  # grown logs too
    url = emulator.elasticpath_url + "/v2/integrations/logs?page[limit]=100"
    logs = await walk_elasticpath(http, url, headers)
    assert len(logs) == 123
    for log in logs:
        assert list(log) == [key for key in documented if key in log]


@pytest.mark.parametrize("encoded", [False, True], ids=["brackets", "percent-encoded"])
async def test_offset_walk_visits_every_record_once(
    emulator: Emulator, http: aiohttp.ClientSession, encoded: bool
) -> None:
    headers = await ep_headers(http, emulator)
    limit, offset = "page[limit]", "page[offset]"
    if encoded:
        limit, offset = quote(limit, safe=""), quote(offset, safe="")
    ids: list[str] = []
    for start in range(0, 120, 7):
        url = f"{emulator.elasticpath_url}/v2/integrations/logs?{limit}=7&{offset}={start}"
        async with http.get(URL(url, encoded=True), headers=headers) as response:
            body = await response.json()
        assert body["meta"]["limit"] == 7 and body["meta"]["offset"] == start
        ids += [log["id"] for log in body["data"]]
    assert ids == emulator.store.elasticpath_logs.ids()


async def test_links(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await ep_headers(http, emulator)
    base = f"{emulator.url}/v2/integrations/logs"
    _, body = await get(http, base + "?page[limit]=50&page[offset]=50&foo=bar", headers)
    assert body["links"] == {
        "current": base + "?foo=bar&page[limit]=50&page[offset]=50",
        "first": base + "?foo=bar&page[limit]=50&page[offset]=0",
        "last": base + "?foo=bar&page[limit]=50&page[offset]=100",
        "prev": base + "?foo=bar&page[limit]=50&page[offset]=0",
        "next": base + "?foo=bar&page[limit]=50&page[offset]=100",
    }
    assert body["meta"] == {"limit": 50, "offset": 50, "current": 2, "total": 3}
    _, last = await get(http, body["links"]["next"], headers)
    assert last["links"]["next"] is None and len(last["data"]) == 20
    _, single = await get(http, f"{emulator.url}/v2/integrations", headers)
    assert single["links"]["last"] is None and single["links"]["prev"] is None
    assert single["links"]["next"] is None and single["links"]["first"] is not None


async def test_walk_following_next_links(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await ep_headers(http, emulator)
    items = await walk_elasticpath(
        http, emulator.elasticpath_url + "/v2/integrations/logs?page[limit]=11", headers
    )
    assert [log["id"] for log in items] == emulator.store.elasticpath_logs.ids()


async def test_nested_meta(emulator_factory: EmulatorFactory, http: aiohttp.ClientSession) -> None:
    emu = await emulator_factory(ep_meta_style="nested", logs=30)
    headers = await ep_headers(http, emu)
    _, body = await get(http, emu.elasticpath_url + "/v2/integrations/logs?page[limit]=10", headers)
    assert "results" not in body
    assert body["meta"] == {
        "page": {"limit": 10, "offset": 0, "current": 1, "total": 3},
        "results": {"total": 30},
    }


@pytest.mark.parametrize(
    "query",
    ["page[limit]=101", "page[limit]=0", "page[limit]=x", "page[offset]=-1", "page[offset]=1.5"],
)
async def test_bad_page_parameters_400(
    emulator: Emulator, http: aiohttp.ClientSession, query: str
) -> None:
    headers = await ep_headers(http, emulator)
    status, body = await get(
        http, f"{emulator.elasticpath_url}/v2/integrations/logs?{query}", headers
    )
    assert status == 400
    schemas.check(body, *schemas.EP_ERROR)
    assert body["errors"][0]["status"] == 400 and "page[" in body["errors"][0]["detail"]


async def test_offset_ceiling(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(ep_offset_ceiling=50, logs=80)
    headers = await ep_headers(http, emu)
    url = emu.elasticpath_url + "/v2/integrations/logs?page[limit]=10&page[offset]="
    status, _ = await get(http, url + "50", headers)
    assert status == 200
    status, body = await get(http, url + "60", headers)
    assert status == 400 and "must not exceed 50" in body["errors"][0]["detail"]


async def test_jobs_and_job_logs(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await ep_headers(http, emulator)
    store = emulator.store
    for integration_id in store.elasticpath_integration_ids:
        base = f"{emulator.elasticpath_url}/v2/integrations/{integration_id}"
        status, jobs = await get(http, base + "/jobs", headers)
        assert status == 200
        schemas.check(jobs, *schemas.ep_listing("/integrations/{integration_uuid}/jobs"))
        job_ids = [job["id"] for job in jobs["data"]]
        assert job_ids == store.jobs(integration_id)
        for job in jobs["data"]:
            schemas.check(job, *schemas.EP_JOB)
        logs = await walk_elasticpath(http, base + "/logs?page[limit]=100", headers)
        assert [log["id"] for log in logs] == store.elasticpath_logs_for(integration_id).ids()
        assert {log["relationships"]["integration"]["data"]["id"] for log in logs} <= {
            integration_id
        }
        from_jobs: list[str] = []
        for job_id in job_ids:
            job_logs = await walk_elasticpath(http, f"{base}/jobs/{job_id}/logs", headers)
            assert {log["relationships"]["job"]["data"]["id"] for log in job_logs} <= {job_id}
            from_jobs += [log["id"] for log in job_logs]
        assert sorted(from_jobs) == sorted(log["id"] for log in logs)


async def test_not_found_404(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await ep_headers(http, emulator)
    integration_id = emulator.store.elasticpath_integration_ids[0]
    other = emulator.store.elasticpath_integration_ids[1]
    foreign_job = emulator.store.jobs(other)[0]
    for path in (
        "/v2/integrations/nope",
        "/v2/integrations/nope/logs",
        "/v2/integrations/nope/jobs",
        f"/v2/integrations/{integration_id}/jobs/nope/logs",
        f"/v2/integrations/{integration_id}/jobs/{foreign_job}/logs",
    ):
        status, body = await get(http, emulator.elasticpath_url + path, headers)
        assert status == 404, path
        schemas.check(body, *schemas.EP_ERROR)
        assert body == {
            "errors": [
                {"status": 404, "title": "Not Found", "detail": "The resource could not be found"}
            ]
        }


async def test_unauthorized_401(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.elasticpath_url + "/v2/integrations/logs"
    expired = await ep_headers(http, emulator)
    emulator.expire_tokens()
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        basic(emulator),
        await sendcloud_bearer(http, emulator),
        expired,
    ):
        status, body = await get(http, url, headers)
        assert status == 401
        assert body == {"errors": [{"status": 401, "title": "Unable to validate access token"}]}
        schemas.check(body, *schemas.EP_ERROR)


async def test_token_ttl(emulator_factory: EmulatorFactory, http: aiohttp.ClientSession) -> None:
    emu = await emulator_factory(token_ttl=0.3, logs=5)
    token = await ep_token(http, emu)
    url = emu.elasticpath_url + "/v2/integrations/logs"
    headers = {"Authorization": "Bearer " + token}
    assert (await get(http, url, headers))[0] == 200
    await asyncio.sleep(0.35)
    assert (await get(http, url, headers))[0] == 401
    assert (await get(http, url, await ep_headers(http, emu)))[0] == 200
