"""Fault injection: the pure policy, and every kind as seen by a plain HTTP client."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator, FaultConfig, FaultKind
from integration_logs_async.emulator._faults import STATUS_FAULTS, FaultPolicy
from integration_logs_async.testing import EmulatorFactory

from . import _schemas as schemas
from ._helpers import basic, ep_headers, get


def _kinds(config: FaultConfig, count: int) -> list[FaultKind | None]:
    policy = FaultPolicy(config)
    return [policy.decide().kind for _ in range(count)]


def test_policy_is_deterministic_and_respects_rates() -> None:
    config = FaultConfig(seed=7, rates={"server_error": 0.2, "reset": 0.1})
    first = _kinds(config, 2000)
    assert first == _kinds(config, 2000)
    assert first != _kinds(FaultConfig(seed=8, rates=config.rates), 2000)
    assert 300 < first.count(FaultKind.SERVER_ERROR) < 500
    assert 120 < first.count(FaultKind.RESET) < 280
    assert set(first) == {None, FaultKind.SERVER_ERROR, FaultKind.RESET}


def test_policy_schedule_and_latency() -> None:
    config = FaultConfig(
        schedule={2: "bad_gateway", 3: "latency"},
        rates={"latency": 1.0},
        latency_seconds=0.5,
        latency_jitter_seconds=0.25,
    )
    policy = FaultPolicy(config)
    decisions = [policy.decide() for _ in range(3)]
    assert [d.kind for d in decisions] == [None, FaultKind.BAD_GATEWAY, None]
    assert all(0.5 <= d.delay <= 0.75 for d in decisions)
    assert [d.number for d in decisions] == [1, 2, 3]
    # Adding a rate does not shift the draws of later requests.
    plain = [d.delay for d in (FaultPolicy(FaultConfig(seed=1)).decide() for _ in range(5))]
    assert plain == [0.0] * 5


def test_fault_config_validation_and_round_trip() -> None:
    with pytest.raises(ValueError):
        FaultConfig(rates={"server_error": 0.7, "reset": 0.5})
    with pytest.raises(ValueError):
        FaultConfig(rates={"nonsense": 0.1})
    with pytest.raises(ValueError):
        FaultConfig(schedule={0: "reset"})
    with pytest.raises(ValueError):
        FaultConfig.from_dict({"no_such_setting": 1})
    config = FaultConfig.from_dict(
        {"server_error": 0.25, "schedule": {"4": "reset"}, "retry_after_seconds": 3}
    )
    assert config.rates == {FaultKind.SERVER_ERROR: 0.25}
    assert config.schedule == {4: FaultKind.RESET}
    assert FaultConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.active and not FaultConfig().active


@pytest.mark.parametrize("kind", list(STATUS_FAULTS))
async def test_status_faults_sendcloud(
    emulator: Emulator, http: aiohttp.ClientSession, kind: FaultKind
) -> None:
    emulator.set_faults(FaultConfig(schedule={1: kind}, retry_after_seconds=4))
    status_code, html = STATUS_FAULTS[kind]
    url = emulator.sendcloud_url + "/integrations/logs"
    async with http.get(url, headers=basic(emulator)) as response:
        assert response.status == status_code
        assert (response.headers.get("Retry-After") == "4") is (kind is FaultKind.RATE_LIMITED)
        text = await response.text()
    if html:
        assert response.content_type == "text/html" and f"<h1>{status_code} " in text
    else:
        body = json.loads(text)
        assert body["error"]["code"] == status_code
        assert body["error"]["request"] == "api/v2/integrations/logs"
    record = emulator.requests[-1]
    assert record.fault == kind and record.credential == emulator.sendcloud_public_key
    assert (await get(http, url, basic(emulator)))[0] == 200


@pytest.mark.parametrize("kind", list(STATUS_FAULTS))
async def test_status_faults_elasticpath(
    emulator: Emulator, http: aiohttp.ClientSession, kind: FaultKind
) -> None:
    headers = await ep_headers(http, emulator)
    emulator.set_faults(FaultConfig(schedule={1: kind}))
    status_code, html = STATUS_FAULTS[kind]
    async with http.get(emulator.elasticpath_url + "/v2/integrations/logs", headers=headers) as r:
        assert r.status == status_code
        assert ("Retry-After" in r.headers) is (kind is FaultKind.RATE_LIMITED)
        text = await r.text()
    if html:
        assert r.content_type == "text/html"
        return
    body = json.loads(text)
    schemas.check(body, *schemas.EP_ERROR)
    error = body["errors"][0]
    assert error["status"] == status_code
    if status_code == 429:
        assert error == {"status": 429, "title": "Too Many Requests"}
    elif status_code == 500:
        assert error["title"] == "Internal Server Error" and error["detail"]


async def test_reset_mid_body(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.set_faults(FaultConfig(schedule={1: "reset"}))
    url = emulator.sendcloud_url + "/integrations/logs"
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get(url, headers=basic(emulator)) as response:
            assert response.status == 200
            announced = int(response.headers["Content-Length"])
            assert announced > 10_000
            await response.read()
    record = emulator.requests[-1]
    assert record.fault == "reset" and record.status == 200
    assert (await get(http, url, basic(emulator)))[0] == 200


async def test_truncated_json(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    headers = await ep_headers(http, emulator)
    emulator.set_faults(FaultConfig(schedule={1: "truncated"}))
    async with http.get(emulator.elasticpath_url + "/v2/integrations/logs", headers=headers) as r:
        assert r.status == 200
        raw = await r.read()
        assert int(r.headers["Content-Length"]) == len(raw)
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    assert raw.startswith(b'{"data":[{"id":"')
    assert emulator.requests[-1].fault == "truncated"


async def test_slow_response_exceeds_client_timeout(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.set_faults(FaultConfig(schedule={1: "slow"}, slow_seconds=3))
    url = emulator.sendcloud_url + "/integrations"
    timeout = aiohttp.ClientTimeout(total=0.1)
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(url, headers=basic(emulator), timeout=timeout) as response:
            await response.read()
    started = time.monotonic()
    assert (await get(http, url, basic(emulator)))[0] == 200
    assert time.monotonic() - started < 1.5  # not held behind the slow one (3 s)


async def test_latency(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.set_faults(
        FaultConfig(rates={"latency": 1.0}, latency_seconds=0.05, latency_jitter_seconds=0.02)
    )
    started = time.monotonic()
    assert (await get(http, emulator.sendcloud_url + "/integrations", basic(emulator)))[0] == 200
    assert time.monotonic() - started >= 0.05
    record = emulator.requests[-1]
    assert 0.05 <= record.delay <= 0.07 and record.duration >= 0.05 and record.fault is None


async def test_foreign_next_links(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.set_faults(
        FaultConfig(
            schedule={1: "foreign_next", 3: "foreign_next"},
            foreign_origin="http://127.0.0.2:{port}",
        )
    )
    _, body = await get(http, emulator.sendcloud_url + "/integrations/logs", basic(emulator))
    assert body["next"].startswith(f"http://127.0.0.2:{emulator.port}/api/v2/integrations/logs?")
    assert emulator.requests[-1].fault == "foreign_next"
    headers = await ep_headers(http, emulator)
    _, body = await get(http, emulator.elasticpath_url + "/v2/integrations/logs", headers)
    assert body["links"]["next"].startswith(f"http://{emulator.url[7:]}")  # request 2: no fault
    emulator.set_faults(FaultConfig(schedule={1: "foreign_next"}))
    _, body = await get(http, emulator.elasticpath_url + "/v2/integrations/logs", headers)
    assert body["links"]["next"].startswith("https://evil.example/v2/integrations/logs?")
    assert body["links"]["current"].startswith(emulator.url)


async def test_foreign_next_not_recorded_without_next(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.set_faults(FaultConfig(schedule={1: "foreign_next"}))
    assert (await get(http, emulator.sendcloud_url + "/integrations", basic(emulator)))[0] == 200
    assert emulator.requests[-1].fault is None


async def test_random_faults_are_reproducible(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    faults = FaultConfig(seed=3, rates={"server_error": 0.3, "rate_limited": 0.2})

    async def statuses() -> list[int]:
        emu = await emulator_factory(logs=10, faults=faults)
        url = emu.sendcloud_url + "/integrations"
        return [(await get(http, url, basic(emu)))[0] for _ in range(30)]

    first = await statuses()
    assert first == await statuses()
    assert {200, 429, 500} == set(first)


async def test_token_endpoints_only_when_included(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.epcc_client_id,
        "client_secret": emulator.epcc_client_secret,
    }
    emulator.set_faults(FaultConfig(schedule={1: "service_unavailable"}))
    async with http.post(emulator.elasticpath_token_url, data=form) as response:
        assert response.status == 200
    assert (await get(http, emulator.sendcloud_url + "/integrations", basic(emulator)))[0] == 503
    emulator.set_faults(
        FaultConfig(schedule={1: "service_unavailable"}, include_token_endpoints=True)
    )
    async with http.post(emulator.elasticpath_token_url, data=form) as response:
        assert response.status == 503
        body = await response.json()
    assert body["errors"][0]["status"] == 503
    assert emulator.requests[-1].category == "token"


async def test_schedule_counts_data_requests(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.set_faults(FaultConfig(schedule={3: "server_error", 5: "gateway_timeout"}))
    url = emulator.sendcloud_url + "/integrations"
    statuses = [(await get(http, url, basic(emulator)))[0] for _ in range(6)]
    assert statuses == [200, 200, 500, 200, 504, 200]
    assert [r.fault for r in emulator.requests[-6:]] == [
        None,
        None,
        "server_error",
        None,
        "gateway_timeout",
        None,
    ]


async def test_faults_from_config(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await emulator_factory(logs=5, faults=FaultConfig(schedule={1: "bad_gateway"}))
    assert emu.faults.schedule == {1: FaultKind.BAD_GATEWAY}
    assert (await get(http, emu.sendcloud_url + "/integrations", basic(emu)))[0] == 502
    emu.set_faults()
    assert not emu.faults.active


async def test_stop_ends_injected_sleeps(http: aiohttp.ClientSession) -> None:
    emu = Emulator(logs=3, faults=FaultConfig(schedule={1: "slow"}, slow_seconds=30))
    await emu.start()
    request = asyncio.create_task(get(http, emu.sendcloud_url + "/integrations", basic(emu)))
    await asyncio.sleep(0.1)
    assert emu.in_flight == 1
    started = time.monotonic()
    await emu.stop()
    assert time.monotonic() - started < 5  # not the 30 s sleep
    assert (await request)[0] == 200


async def test_foreign_redirect(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.set_faults(
        FaultConfig(schedule={1: "foreign_redirect"}, foreign_origin="http://127.0.0.2:{port}")
    )
    url = emulator.sendcloud_url + "/integrations/logs?page_size=5"
    async with http.get(url, headers=basic(emulator), allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == (
            f"http://127.0.0.2:{emulator.port}/api/v2/integrations/logs?page_size=5"
        )
    record = emulator.requests[-1]
    assert record.fault == "foreign_redirect" and record.status == 302
    assert record.credential == emulator.sendcloud_public_key
    assert (await get(http, url, basic(emulator)))[0] == 200  # request 2: no fault
    # Token endpoints are never redirected, even when they are faultable.
    emulator.set_faults(FaultConfig(schedule={1: "foreign_redirect"}, include_token_endpoints=True))
    assert (await ep_headers(http, emulator))["Authorization"].startswith("Bearer ")


async def test_issued_tokens_are_listed(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    assert emulator.issued_tokens == []
    first = await ep_headers(http, emulator)
    emulator.expire_tokens()
    second = await ep_headers(http, emulator)
    assert [f"Bearer {t}" for t in emulator.issued_tokens] == [
        first["Authorization"],
        second["Authorization"],
    ]
