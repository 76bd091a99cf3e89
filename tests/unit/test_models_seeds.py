"""The documented examples (tests/data/reference) decode field for field."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from integration_logs_async import (
    AwareDecoder,
    ElasticPathIntegrationLog,
    ElasticPathJob,
    LogRequest,
    LogResponse,
    SendcloudIntegration,
    SendcloudIntegrationLog,
)
from integration_logs_async.errors import ProviderError
from integration_logs_async.providers._raw import plain_raw
from integration_logs_async.providers.elasticpath._errors import parse_errors as parse_error_body
from integration_logs_async.providers.elasticpath._models import ListPage
from integration_logs_async.providers.elasticpath._records import raw_log as elasticpath_raw
from integration_logs_async.providers.sendcloud._models import CursorPage
from integration_logs_async.providers.sendcloud._records import raw_log as sendcloud_raw

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
SEEDS = REFERENCE / "seeds"
PLUS_ONE = timezone(timedelta(hours=1))
HTML_BODY = (
    "<!doctype html>\n<html>\n <head>\n <title>SSL Certificate Error</title>\n </head>\n </html>\n"
)
HEADERS = {
    "Cache-Control": "max-age=3600",
    "Content-Type": "text/html; charset=utf-8",
    "Connection": "keep-alive",
}


def json_documents(text: str) -> list[Any]:
    """Every JSON object in ``text`` that starts on a line of its own."""
    decoder = json.JSONDecoder()
    found = []
    for match in re.finditer(r"^\s*\{", text, flags=re.MULTILINE):
        try:
            value, _ = decoder.raw_decode(text, match.end() - 1)
        except json.JSONDecodeError:
            continue
        found.append(value)
    return found


def seed(name: str) -> str:
    [path] = SEEDS.glob(f"{name}_*.txt")
    return path.read_text(encoding="utf-8")


def sendcloud_page_from_yaml() -> bytes:
    text = seed("000")
    fenced = text.split("````yaml", 1)[1].split("\n", 1)[1]  # skip the fence's info line
    spec = yaml.safe_load(fenced.split("````", 1)[0])
    op = spec["paths"]["/integrations/logs"]["get"]
    example = op["responses"]["200"]["content"]["application/json"]["examples"]
    return json.dumps(example["RetrieveIntegrationLogs"]["value"]).encode()


def sendcloud_page_from_page() -> bytes:
    [page] = [d for d in json_documents(seed("001")) if "results" in d]
    return json.dumps(page).encode()


@pytest.mark.parametrize("source", [sendcloud_page_from_yaml, sendcloud_page_from_page])
def test_sendcloud_log_examples(source: Any) -> None:
    page = msgspec.json.decode(source(), type=CursorPage[SendcloudIntegrationLog])
    assert page.next == "https://example.com"
    assert page.previous == "https://example.com"
    first, second = page.results
    assert first == SendcloudIntegrationLog(
        id=123,
        base_url="https://example.com",
        full_url="https://example.com/order-note.json",
        method="POST",
        response_code=495,
        response=LogResponse(headers=HEADERS, body=HTML_BODY),
        request=LogRequest(headers=HEADERS, payload={"order_note": {"note": "Success"}}),
        created_at=datetime(2023, 3, 1, 2, 2, tzinfo=PLUS_ONE),
        exception_type="requests.exceptions.SSLError",
        exception="An SSL error occurred",
        protected=False,
    )
    assert first.integration_id is None and first.user_id is None
    assert first.created_at.utcoffset() == timedelta(hours=1)
    assert first.created_at == datetime(2023, 3, 1, 1, 2, tzinfo=UTC)
    assert second == SendcloudIntegrationLog(
        id=124,
        integration_id=123,
        user_id=123,
        base_url="https://example.com",
        full_url="https://example.com/order-note.json",
        method="POST",
        response_code=404,
        response=LogResponse(),
        request=LogRequest(headers=HEADERS, payload={}),
        created_at=datetime(2023, 3, 1, 2, 2, tzinfo=PLUS_ONE),
        exception="PageNotFound",
        protected=False,
    )
    assert second.response is not None and second.response.body is None
    assert second.exception_type is None


@pytest.mark.parametrize(
    ("response", "request_", "body", "payload"),
    [
        ({"body": "plain text"}, {"payload": "a=1&b=2"}, "plain text", "a=1&b=2"),
        ({"body": {"ok": False}}, {"payload": {"x": [1]}}, {"ok": False}, {"x": [1]}),
        ({"body": [1, 2]}, {"payload": []}, [1, 2], []),
        ({"body": None}, {"payload": None}, None, None),
        ({}, {}, None, None),
    ],
)
def test_sendcloud_bodies_as_string_object_or_empty(
    response: dict[str, Any], request_: dict[str, Any], body: Any, payload: Any
) -> None:
    raw = {
        "id": 1,
        "base_url": "https://s.example",
        "created_at": "2024-06-01T12:00:00Z",
        "response": response,
        "request": request_,
    }
    log = msgspec.json.decode(json.dumps(raw), type=SendcloudIntegrationLog)
    assert log.response == LogResponse(body=body)
    assert log.request == LogRequest(payload=payload)


def test_sendcloud_nulls_headers_as_string_and_naive_time() -> None:
    raw = {
        "id": 1,
        "base_url": "https://s.example",
        "created_at": "2024-06-01T12:00:00",
        "response": None,
        "request": {"headers": "X-A: 1", "payload": None},
        "response_code": None,
        "full_url": None,
        "protected": True,
    }
    with pytest.raises(msgspec.ValidationError, match=r"(?i)time ?zone"):  # wants an offset
        msgspec.json.decode(json.dumps(raw), type=SendcloudIntegrationLog)
    log = AwareDecoder[SendcloudIntegrationLog](SendcloudIntegrationLog).decode(
        json.dumps(raw).encode()
    )
    assert log.created_at == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)  # the client assumes UTC
    assert (log.response, log.response_code, log.full_url, log.protected) == (
        None,
        None,
        None,
        True,
    )
    assert log.request == LogRequest(headers="X-A: 1")


def test_sendcloud_unknown_fields_are_accepted() -> None:
    raw = {"id": 5, "base_url": "b", "created_at": "2024-01-01T00:00:00Z", "brand_new": {"a": 1}}
    assert msgspec.json.decode(json.dumps(raw), type=SendcloudIntegrationLog).id == 5


def test_sendcloud_integrations_example() -> None:
    spec = json.loads((REFERENCE / "sendcloud" / "v2-integrations-openapi.json").read_text())
    op = spec["paths"]["/integrations"]["get"]
    example = op["responses"]["200"]["content"]["application/json"]["examples"]
    body = json.dumps(example["RetrieveIntegrationList"]["value"])
    [integration] = msgspec.json.decode(body, type=list[SendcloudIntegration])
    when = datetime(2019, 8, 24, 14, 15, 22, tzinfo=UTC)
    assert integration == SendcloudIntegration(
        id=123,
        shop_name="Integration #1",
        shop_url="https://example.com",
        system="api / amazon / magento",
        failing_since=when,
        last_fetch=when,
        last_updated_at=when,
        service_point_enabled=True,
        service_point_carriers=["ups"],
        webhook_active=True,
        webhook_url="https://example.com",
    )


EP_LOG_ID = "11de4222-fbda-498c-9ecb-cd46d598712f"


@pytest.mark.parametrize("name", ["002", "004"])
def test_elastic_path_log_examples(name: str) -> None:
    pages = [d for d in json_documents(seed(name)) if d.get("data") and "meta" in d]
    assert len(pages) == 2  # all logs and logs of one integration
    for page in pages:
        body = json.dumps(page).encode()
        decoded = msgspec.json.decode(body, type=ListPage[ElasticPathIntegrationLog])
        [log] = decoded.data
        assert (log.id, log.type, log.succeeded, log.attempt) == (
            EP_LOG_ID,
            "integration-log",
            False,
            1,
        )
        assert log.processing_time == 0.2529
        assert (log.body, log.status_code) == ("Not found", 404)
        assert log.error_detail == (
            "Received a status code outside of 2xx range - treating webhook as a fail"
        )
        assert log.integration_id == "8edd44ef-1856-4456-90ec-d9fab8a25049"
        assert log.job_id == "3b69a7e2-78ad-4ee6-8a81-c9b1b8a9cd26"
        assert log.relationships is not None and log.relationships.job is not None
        assert log.relationships.job.data is not None
        assert log.relationships.job.data.type == "integration-job"
        # 2017-10-30T18:15:40.087650928Z: nanoseconds rounded to microseconds, aware UTC
        assert log.created_at == datetime(2017, 10, 30, 18, 15, 40, 87651, tzinfo=UTC)
        assert log.created_at is not None and log.created_at.tzinfo is not None
        assert decoded.meta is not None
        assert (
            decoded.meta.limit,
            decoded.meta.offset,
            decoded.meta.current,
            decoded.meta.total,
        ) == (100, 0, 1, 1)
        assert decoded.results is not None and decoded.results.total == 1

        [raw] = msgspec.json.decode(body, type=ListPage[msgspec.Raw]).data
        record = elasticpath_raw(raw)
        assert json.loads(record.raw) == page["data"][0]
        assert (record.id, record.integration_id, record.job_id) == (
            EP_LOG_ID,
            "8edd44ef-1856-4456-90ec-d9fab8a25049",
            "3b69a7e2-78ad-4ee6-8a81-c9b1b8a9cd26",
        )
        assert record.created_at == log.created_at


@pytest.mark.parametrize("name", ["002", "004"])
def test_elastic_path_jobs_example(name: str) -> None:
    [page] = [d for d in json_documents(seed(name)) if d.get("data") and "meta" not in d]
    decoded = msgspec.json.decode(json.dumps(page), type=ListPage[ElasticPathJob])
    assert decoded.meta is None and decoded.results is None
    assert decoded.data == [
        ElasticPathJob(id="6560f600-b610-4c02-88ac-0d120e3d5071", type="integration-job"),
        ElasticPathJob(id="353c015a-92ab-4c06-ab8a-bef8a451b9be", type="integration-job"),
        ElasticPathJob(id="4af82fba-8f0a-41b1-add6-0fa16fe3579e", type="integration-job"),
    ]
    [raw, *_] = msgspec.json.decode(json.dumps(page), type=ListPage[msgspec.Raw]).data
    assert plain_raw(raw).id == "6560f600-b610-4c02-88ac-0d120e3d5071"


def test_elastic_path_schema_example_without_timestamps() -> None:
    [page] = [d for d in json_documents(seed("003")) if "data" in d]
    decoded = msgspec.json.decode(json.dumps(page), type=ListPage[ElasticPathIntegrationLog])
    [log] = decoded.data
    assert (log.id, log.type, log.succeeded, log.status_code) == (
        "ac8bb58e-2b9b-4ccf-9dd2-ecdf50417849",
        "integration",
        True,
        404,
    )
    assert log.processing_time is None
    assert log.created_at is None and log.meta is None
    assert log.integration_id == log.job_id == "ff8634a8-a89e-4eac-baab-9b7b8c4f8720"


def test_elastic_path_error_examples() -> None:
    errors = [d for d in json_documents(seed("003")) if "errors" in d]
    parsed = [parse_error_body(json.dumps(d).encode()) for d in errors]
    assert parsed == [
        (
            ProviderError(
                status=500, title="Internal server error", detail="An internal error has occurred."
            ),
        ),
        (ProviderError(status=404, title="Not Found", detail="The resource could not be found"),),
        (
            ProviderError(
                status=500, title="Internal server error", detail="An internal error has occurred."
            ),
        ),
        (ProviderError(status=500, title="Internal Server Error"),),
    ]


def test_raw_record_keeps_exact_bytes() -> None:
    record = (
        b'{"id":  7 ,"base_url":"https://s.example","created_at":"2024-01-02T03:04:05+02:00"'
        b',"integration_id":"12","z":"\\u00e9\\n","a":[1.0e3, true]}'
    )
    page = b'{"next":null,"results":[' + record + b"]}"
    [raw] = msgspec.json.decode(page, type=CursorPage[msgspec.Raw]).results
    got = sendcloud_raw(raw)
    assert got.raw == record
    assert (got.id, got.integration_id) == ("7", "12")
    assert got.created_at == datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)
