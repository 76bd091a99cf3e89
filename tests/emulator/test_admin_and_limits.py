"""Admin endpoints, request log, concurrency stats and the per-credential rate limit."""

from __future__ import annotations

import asyncio
import base64

import aiohttp

from integration_logs_async.emulator import CredentialKind, Emulator, FaultConfig
from integration_logs_async.testing import EmulatorFactory

from ._helpers import basic, ep_headers, get, sendcloud_bearer


async def test_faults_get_and_put(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, emulator.admin_url + "/faults")
    assert status == 200 and body == FaultConfig().to_dict()
    update = {"rates": {"server_error": 0.5}, "schedule": {"1": "reset"}, "slow_seconds": 2}
    async with http.put(emulator.admin_url + "/faults", json=update) as response:
        assert response.status == 200
        body = await response.json()
    assert body["rates"] == {"server_error": 0.5} and body["schedule"] == {"1": "reset"}
    assert emulator.faults.slow_seconds == 2
    for bad in ({"rates": {"server_error": 2}}, {"whatever": 1}, [1]):
        async with http.put(emulator.admin_url + "/faults", json=bad) as response:
            assert response.status == 400
    async with http.put(emulator.admin_url + "/faults", data=b"{") as response:
        assert response.status == 400
    async with http.put(emulator.admin_url + "/faults", json={}) as response:
        assert response.status == 200
    assert not emulator.faults.active


async def test_request_log(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    await get(http, emulator.sendcloud_url + "/integrations/logs?page_size=5", basic(emulator))
    await get(http, emulator.sendcloud_url + "/integrations/logs")
    headers = await ep_headers(http, emulator)
    await get(http, emulator.elasticpath_url + "/v2/integrations", headers)
    await get(http, emulator.url + "/nowhere")
    status, records = await get(http, emulator.admin_url + "/requests")
    assert status == 200
    assert [(r["path"], r["status"], r["auth_scheme"], r["credential"]) for r in records] == [
        ("/api/v2/integrations/logs", 200, "basic", emulator.sendcloud_public_key),
        ("/api/v2/integrations/logs", 401, None, None),
        ("/oauth/access_token", 200, "form", emulator.epcc_client_id),
        ("/v2/integrations", 200, "bearer", emulator.epcc_client_id),
        ("/nowhere", 404, None, None),
    ]
    assert records[0]["query_string"] == "page_size=5" and records[0]["method"] == "GET"
    assert [r["category"] for r in records] == ["data", "data", "token", "data", "other"]
    assert all(r["finished"] >= r["started"] for r in records)
    text = str(records)
    assert emulator.sendcloud_secret_key not in text and emulator.epcc_client_secret not in text
    assert [r.to_dict() for r in emulator.requests] == records


async def test_add_logs_through_admin(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.post(
        emulator.admin_url + "/logs", json={"provider": "elasticpath", "count": 4}
    ) as response:
        assert response.status == 201
        body = await response.json()
    assert body["added"] == 4 and body["total"] == 124
    assert emulator.store.elasticpath_logs.ids()[:4] == body["ids"][::-1]
    integration_id = emulator.store.sendcloud_integration_ids[2]
    request = {"provider": "sendcloud", "count": 2, "integration_id": integration_id}
    async with http.post(emulator.admin_url + "/logs", json=request) as response:
        body = await response.json()
    assert emulator.store.sendcloud_logs_for(integration_id).ids()[:2] == body["ids"][::-1]
    for bad, status in (
        ({"provider": "nope", "count": 1}, 400),
        ({"provider": "sendcloud", "count": -1}, 400),
        ({"count": 1}, 400),
        ({"provider": "sendcloud", "count": 1, "integration_id": 1}, 404),
    ):
        async with http.post(emulator.admin_url + "/logs", json=bad) as response:
            assert response.status == status


async def test_info_stats_and_reset(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    _, info = await get(http, emulator.admin_url + "/info")
    assert info == emulator.info()
    assert info["env"] == emulator.env()
    await get(http, emulator.sendcloud_url + "/integrations", basic(emulator))
    _, stats = await get(http, emulator.admin_url + "/stats")
    assert stats["requests"] == 1 and stats["logs"] == {"sendcloud": 120, "elasticpath": 120}
    assert stats["max_in_flight"] == 1 and stats["in_flight"] == 0 and stats["cpu_seconds"] > 0
    async with http.post(emulator.admin_url + "/reset-stats") as response:
        assert response.status == 204
    assert emulator.requests == [] and emulator.max_in_flight == 0


async def test_expire_tokens_through_admin(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await ep_headers(http, emulator)
    async with http.post(emulator.admin_url + "/expire-tokens") as response:
        assert response.status == 204
    assert (await get(http, emulator.elasticpath_url + "/v2/integrations", headers))[0] == 401


async def test_max_in_flight(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.set_faults(FaultConfig(rates={"latency": 1.0}, latency_seconds=0.1))
    url = emulator.sendcloud_url + "/integrations"
    results = await asyncio.gather(*(get(http, url, basic(emulator)) for _ in range(6)))
    assert [status for status, _ in results] == [200] * 6
    assert emulator.max_in_flight == 6 and emulator.in_flight == 0
    emulator.reset_stats()
    await get(http, url, basic(emulator))
    assert emulator.max_in_flight == 1 and len(emulator.requests) == 1


async def test_rate_limit_per_credential(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(rate_limit_rps=3, logs=5)
    url = emu.sendcloud_url + "/integrations"
    statuses = [(await get(http, url, basic(emu)))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    async with http.get(url, headers=basic(emu)) as response:
        assert response.status == 429 and response.headers["Retry-After"] == "1"
        body = await response.json()
    assert body["error"]["code"] == 429
    # Another credential has its own budget, on either provider.
    emu.add_credential(CredentialKind.SENDCLOUD_KEY, "second-key", "second-secret")
    second = {"Authorization": "Basic " + base64.b64encode(b"second-key:second-secret").decode()}
    assert (await get(http, url, second))[0] == 200
    assert (await get(http, url, await sendcloud_bearer(http, emu)))[0] == 200
    ep = await ep_headers(http, emu)
    ep_statuses = [
        (await get(http, emu.elasticpath_url + "/v2/integrations", ep)) for _ in range(4)
    ]
    assert [status for status, _ in ep_statuses] == [200, 200, 200, 429]
    assert ep_statuses[-1][1] == {"errors": [{"status": 429, "title": "Too Many Requests"}]}
    await asyncio.sleep(1.0)
    assert (await get(http, url, basic(emu)))[0] == 200
