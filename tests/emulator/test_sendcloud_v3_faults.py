"""Sendcloud v3 endpoints of the emulator under every fault kind and the rate limit."""

from __future__ import annotations

import json

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator, FaultConfig, FaultKind
from integration_logs_async.emulator._faults import STATUS_FAULTS
from integration_logs_async.testing import EmulatorFactory

from . import _schemas as schemas
from ._helpers import basic
from ._v3_http import fetch

_FAULT_CODES = {
    429: "throttled",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@pytest.mark.parametrize("kind", list(STATUS_FAULTS))
async def test_status_faults(
    emulator: Emulator, http: aiohttp.ClientSession, kind: FaultKind
) -> None:
    emulator.set_faults(FaultConfig(schedule={1: kind}, retry_after_seconds=4))
    status_code, html = STATUS_FAULTS[kind]
    url = emulator.sendcloud_v3_url + "/integrations/logs"
    async with http.get(url, headers=basic(emulator)) as response:
        assert response.status == status_code and "Link" not in response.headers
        assert (response.headers.get("Retry-After") == "4") is (kind is FaultKind.RATE_LIMITED)
        text = await response.text()
    if html:
        assert response.content_type == "text/html" and f"<h1>{status_code} " in text
    else:
        body = json.loads(text)
        schemas.check(body, *schemas.SC3_ERRORS)
        (error,) = body["errors"]
        assert error["status"] == str(status_code) and error["title"] and error["detail"]
        assert error["code"] == _FAULT_CODES[status_code]
    record = emulator.requests[-1]
    assert record.fault == kind and record.provider == "sendcloud"
    assert record.credential == emulator.sendcloud_public_key
    assert (await fetch(http, url, basic(emulator))).status == 200


async def test_rate_limit(emulator_factory: EmulatorFactory, http: aiohttp.ClientSession) -> None:
    emu = await emulator_factory(rate_limit_rps=1)
    url = emu.sendcloud_v3_url + "/integrations"
    statuses = []
    for _ in range(4):
        async with http.get(url, headers=basic(emu)) as response:
            statuses.append(response.status)
            body = await response.json()
    assert statuses[0] == 200 and 429 in statuses
    schemas.check(body, *schemas.SC3_ERRORS)
    assert body["errors"][0]["code"] == "throttled"


async def test_truncated_and_reset_keep_link(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.set_faults(FaultConfig(schedule={1: "truncated", 2: "reset"}))
    url = emulator.sendcloud_v3_url + "/integrations/logs"
    async with http.get(url, headers=basic(emulator)) as response:
        raw = await response.read()
        assert response.status == 200 and int(response.headers["Content-Length"]) == len(raw)
        assert 'rel="next"' in response.headers["Link"]
    assert raw.startswith(b'{"data":[{"id":')
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get(url, headers=basic(emulator)) as response:
            assert 'rel="next"' in response.headers["Link"]
            await response.read()
    assert [r.fault for r in emulator.requests[-2:]] == ["truncated", "reset"]


async def test_slow_latency_and_redirect(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.set_faults(
        FaultConfig(
            schedule={1: "slow", 2: "latency", 3: "foreign_redirect"},
            slow_seconds=0.05,
            latency_seconds=0.05,
            foreign_origin="http://127.0.0.2:{port}",
        )
    )
    url = emulator.sendcloud_v3_url + "/integrations/logs?page_size=5"
    assert (await fetch(http, url, basic(emulator))).status == 200
    assert (await fetch(http, url, basic(emulator))).status == 200
    assert emulator.requests[-2].fault == "slow" and emulator.requests[-1].delay >= 0.05
    async with http.get(url, headers=basic(emulator), allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == (
            f"http://127.0.0.2:{emulator.port}/api/v3/integrations/logs?page_size=5"
        )


async def test_foreign_next(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.set_faults(FaultConfig(schedule={2: "foreign_next"}))
    url = emulator.sendcloud_v3_url + "/integrations/logs?page_size=10"
    first = await fetch(http, url, basic(emulator))
    second = await fetch(http, first.links["next"], basic(emulator))
    assert second.links["next"].startswith("https://evil.example/api/v3/integrations/logs?")
    assert second.links["prev"].startswith(emulator.sendcloud_v3_url)
    assert [r.fault for r in emulator.requests[-2:]] == [None, "foreign_next"]
