"""``Emulator.add_logs`` with given fields, and its admin twin ``POST /_emulator/logs``.

A user tests alerting by adding logs with exactly the fields the alert looks at; every
record still validates against the reference OpenAPI specs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from integration_logs_async.emulator import Emulator, LogFieldError
from integration_logs_async.testing import EmulatorFactory

from . import _schemas as schemas

NOON = datetime(2024, 6, 2, 12, 0, tzinfo=UTC)


def _sendcloud(emu: Emulator, log_id: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(emu.store.sendcloud_log(int(log_id)))
    schemas.check(record, *schemas.SENDCLOUD_LOG)
    return record


def _elasticpath(emu: Emulator, log_id: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(emu.store.elasticpath_log(str(log_id)))
    schemas.check(record, *schemas.EP_LOG)
    return record


def test_sendcloud_logs_with_given_fields(emulator: Emulator) -> None:
    owner = emulator.store.sendcloud_integration_ids[1]
    ids = emulator.add_logs(
        "sendcloud",
        2,
        owner,
        status_code=503,
        created_at=NOON,
        method="POST",
        body="maintenance",
        full_url="https://shop.example/orders/7",
    )
    assert emulator.store.sendcloud_logs_for(owner).ids()[:2] == ids[::-1]
    for log_id in ids:
        record = _sendcloud(emulator, log_id)
        assert record["integration_id"] == owner and record["response_code"] == 503
        assert record["method"] == "POST" and record["response"]["body"] == "maintenance"
        assert datetime.fromisoformat(record["created_at"]) == NOON
        assert record["exception_type"] == "requests.exceptions.HTTPError"
        assert record["exception"] == (
            "503 Server Error: Service Unavailable for url: https://shop.example/orders/7"
        )
        assert record["protected"] is False


def test_sendcloud_no_response_and_not_failed(emulator: Emulator) -> None:
    (no_response,) = emulator.add_logs("sendcloud", status_code=None, error="timed out")
    record = _sendcloud(emulator, no_response)
    assert (record["response_code"], record["response"]) == (None, None)
    assert record["exception"] == "timed out"
    assert record["exception_type"] == "requests.exceptions.ConnectionError"
    (fine,) = emulator.add_logs("sendcloud", failed=False, protected=True)
    record = _sendcloud(emulator, fine)
    assert (record["response_code"], record["exception"], record["exception_type"]) == (
        200,
        None,
        None,
    )
    assert record["protected"] is True
    (client_error,) = emulator.add_logs("sendcloud", status_code=404, exception_type="E")
    record = _sendcloud(emulator, client_error)
    assert record["exception"].startswith("404 Client Error: Not Found for url: https://")
    assert record["exception_type"] == "E"


def test_elasticpath_logs_with_given_fields(emulator: Emulator) -> None:
    owner = emulator.store.elasticpath_integration_ids[2]
    job = emulator.store.jobs(owner)[1]
    ids = emulator.add_logs(
        "elasticpath",
        3,
        job_id=job,  # the job names its integration
        status_code=502,
        attempt=4,
        processing_time=12.5,
        created_at="2024-06-02T14:00:00.123456+02:00",
    )
    assert emulator.store.elasticpath_logs_for(owner, job).ids()[:3] == ids[::-1]
    for log_id in ids:
        record = _elasticpath(emulator, log_id)
        assert (record["succeeded"], record["status_code"], record["attempt"]) == (False, 502, 4)
        assert record["processing_time"] == 12.5 and record["body"] == "Bad Gateway"
        assert "outside of 2xx" in record["error_detail"]
        assert record["relationships"]["integration"]["data"]["id"] == owner
        assert record["relationships"]["job"]["data"]["id"] == job
        assert record["meta"]["timestamps"]["created_at"] == "2024-06-02T12:00:00.123456000Z"
    (ok,) = emulator.add_logs("elasticpath", 1, owner, failed=False)
    record = _elasticpath(emulator, ok)
    assert (record["succeeded"], record["status_code"], record["error_detail"]) == (True, 200, "")
    (refused,) = emulator.add_logs("elasticpath", status_code=None)
    record = _elasticpath(emulator, refused)
    assert (record["succeeded"], record["status_code"], record["body"]) == (False, 0, "")
    assert record["error_detail"]


@pytest.mark.emulator(logs=0, integrations=2)
async def test_an_alert_sees_exactly_the_added_failures(emulator: Emulator) -> None:
    now = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    emulator.add_logs("elasticpath", 5, status_code=200, created_at=now - timedelta(hours=2))
    emulator.add_logs("elasticpath", 2, status_code=500, created_at=now - timedelta(minutes=5))
    emulator.add_logs("sendcloud", 3, status_code=429, created_at=now - timedelta(minutes=1))
    async with emulator.elasticpath_client(rate_limit=0) as client:
        logs = await client.logs().collect()
    recent = [log for log in logs if log.created_at and log.created_at > now - timedelta(hours=1)]
    assert [(log.succeeded, log.status_code) for log in recent] == [(False, 500)] * 2
    async with emulator.sendcloud_client(rate_limit=0) as client:
        failures = await client.logs().collect()
    assert [(log.response_code, log.created_at) for log in failures] == [
        (429, now - timedelta(minutes=1))
    ] * 3


def test_time_order_of_later_synthetic_logs(emulator: Emulator) -> None:
    late = datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=-5)))
    (given,) = emulator.add_logs("elasticpath", created_at=late)
    (synthetic,) = emulator.add_logs("elasticpath")
    assert emulator.store.elasticpath_logs.ids()[:2] == [synthetic, given]
    stamp = _elasticpath(emulator, synthetic)["meta"]["timestamps"]["created_at"]
    assert datetime.fromisoformat(stamp) > late
    (early,) = emulator.add_logs("sendcloud", created_at=datetime(2001, 1, 1, tzinfo=UTC))
    assert emulator.store.sendcloud_logs.ids()[0] == early  # listed in the order added
    assert _sendcloud(emulator, early)["created_at"].startswith("2001-01-01T")


@pytest.mark.parametrize(
    ("provider", "fields", "field", "allowed"),
    [
        ("sendcloud", {"colour": "red"}, "colour", "status_code, failed, error"),
        ("sendcloud", {"job_id": "x"}, "job_id", "Sendcloud logs take"),
        ("elasticpath", {"method": "GET"}, "method", "Elastic Path logs take"),
        ("sendcloud", {"status_code": 700}, "status_code", "100 to 599"),
        ("sendcloud", {"status_code": True}, "status_code", "100 to 599"),
        ("elasticpath", {"failed": "yes"}, "failed", "true or false"),
        ("elasticpath", {"created_at": datetime(2024, 1, 1)}, "created_at", "with an offset"),
        ("sendcloud", {"created_at": "yesterday"}, "created_at", "ISO 8601"),
        ("sendcloud", {"method": "FETCH"}, "method", "GET, POST"),
        ("sendcloud", {"full_url": "ftp://x"}, "full_url", "http://"),
        ("elasticpath", {"attempt": 0}, "attempt", ">= 1"),
        ("elasticpath", {"processing_time": -1}, "processing_time", ">= 0"),
        ("elasticpath", {"failed": False, "error": "x"}, "error", "set failed true"),
        ("sendcloud", {"status_code": None, "body": "x"}, "body", "a status_code"),
    ],
)
def test_bad_fields_name_the_field_and_what_is_allowed(
    emulator: Emulator, provider: Any, fields: dict[str, Any], field: str, allowed: str
) -> None:
    before = emulator.store.log_count(provider)
    with pytest.raises(LogFieldError) as caught:
        emulator.add_logs(provider, 2, **fields)
    assert caught.value.field == field and allowed in caught.value.allowed
    assert str(caught.value).startswith(f"{field}: ") and allowed in str(caught.value)
    assert emulator.store.log_count(provider) == before  # nothing half-added


def test_unknown_integration_or_job(emulator: Emulator) -> None:
    first, second = emulator.store.elasticpath_integration_ids[:2]
    with pytest.raises(KeyError, match="no job"):
        emulator.add_logs("elasticpath", 1, first, job_id=emulator.store.jobs(second)[0])
    with pytest.raises(KeyError, match="no Sendcloud integration 1"):
        emulator.add_logs("sendcloud", 1, 1, failed=True)
    with pytest.raises(LogFieldError, match="integration_id"):
        emulator.add_logs("sendcloud", 1, "abc")
    with pytest.raises(LogFieldError, match="count"):
        emulator.add_logs("sendcloud", -1)


async def _post(http: aiohttp.ClientSession, emu: Emulator, body: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(emu.admin_url + "/logs", data=data) as response:
        return response.status, await response.json()


async def test_admin_body_gives_the_same_logs(
    emulator_factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    by_python = await emulator_factory(logs=10, seed=2)
    by_http = await emulator_factory(logs=10, seed=2)
    owner = by_python.store.sendcloud_integration_ids[0]
    fields: dict[str, Any] = {"status_code": 401, "error": "bad key", "method": "PUT"}
    expected = by_python.add_logs("sendcloud", 2, owner, created_at=NOON, **fields)
    body = {"provider": "sendcloud", "count": 2, "integration_id": owner, **fields}
    status, answer = await _post(http, by_http, {**body, "created_at": "2024-06-02T12:00:00Z"})
    assert status == 201 and answer == {
        "provider": "sendcloud",
        "added": 2,
        "total": 12,
        "ids": expected,
    }
    assert by_http.store.sendcloud_logs[:2] == by_python.store.sendcloud_logs[:2]
    job = by_http.store.jobs(by_http.store.elasticpath_integration_ids[1])[0]
    status, answer = await _post(http, by_http, {"provider": "elasticpath", "job_id": job})
    assert status == 201 and answer["added"] == 1
    record = _elasticpath(by_http, answer["ids"][0])
    assert (record["status_code"], record["relationships"]["job"]["data"]["id"]) == (500, job)


@pytest.mark.parametrize(
    ("body", "status", "field", "allowed"),
    [
        (b"{not json", 400, None, "a JSON object"),
        ([1, 2], 400, None, "a JSON object"),
        ({"count": 1}, 400, "provider", "sendcloud or elasticpath"),
        ({"provider": "shopify"}, 400, "provider", "sendcloud or elasticpath"),
        ({"provider": "sendcloud", "count": "3"}, 400, "count", "an integer >= 0"),
        ({"provider": "sendcloud", "integration_id": "x"}, 400, "integration_id", "(int)"),
        ({"provider": "sendcloud", "status_code": 99}, 400, "status_code", "100 to 599"),
        ({"provider": "elasticpath", "created_at": "soon"}, 400, "created_at", "ISO 8601"),
        ({"provider": "elasticpath", "full_url": "https://x"}, 400, "full_url", "job_id"),
        ({"provider": "sendcloud", "colour": 1}, 400, "colour", "created_at"),
        ({"provider": "sendcloud", "integration_id": 1}, 404, "integration_id", "one of "),
        ({"provider": "elasticpath", "job_id": "nope"}, 404, "job_id", "/jobs"),
    ],
)
async def test_admin_errors_name_the_field(
    emulator: Emulator,
    http: aiohttp.ClientSession,
    body: Any,
    status: int,
    field: str | None,
    allowed: str,
) -> None:
    answer_status, answer = await _post(http, emulator, body)
    assert answer_status == status
    assert answer["field"] == field and allowed in answer["allowed"]
    assert answer["error"]
    if field is not None:
        assert field in answer["error"]
    assert emulator.store.log_count("sendcloud") == emulator.store.log_count("elasticpath") == 120


@pytest.mark.parametrize(
    ("provider", "key"),
    [("sendcloud", "integration"), ("elasticpath", "method"), ("sendcloud", "job_id")],
)
async def test_admin_unknown_key_lists_the_bodys_own_keys_too(
    emulator: Emulator, http: aiohttp.ClientSession, provider: Any, key: str
) -> None:
    status, answer = await _post(http, emulator, {"provider": provider, key: 1})
    assert status == 400 and answer["field"] == key
    allowed = answer["allowed"]
    for name in ("provider", "count", "integration_id", "status_code", "created_at"):
        assert name in allowed.replace(",", " ").replace(";", " ").split(), allowed
    assert allowed in answer["error"]  # the error says the same
    assert emulator.store.log_count(provider) == 120  # nothing added
