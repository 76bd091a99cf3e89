"""AwareDecoder: strict offsets at C speed, UTC assumed for a timestamp sent without one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from aioresponses import aioresponses

from integration_logs_async import (
    AwareDecoder,
    BearerToken,
    ElasticPathClient,
    ElasticPathIntegrationLog,
    SendcloudIntegrationLog,
)
from integration_logs_async.models import AwareDatetime
from integration_logs_async.providers.elasticpath._models import ListPage
from integration_logs_async.providers.sendcloud._models import CursorPage

from .._support.clients import FAST
from ._fakes import EP_BASE

PLUS_ONE = timezone(timedelta(hours=1))


def sc(n: int, created_at: str, payload: Any = None) -> dict[str, Any]:
    return {
        "id": n,
        "base_url": "https://s.example",
        "request": {"headers": {"Date": "2024-01-01T00:00:00"}, "payload": payload},
        "response": {"body": "2024-01-01T00:00:00"},
        "created_at": created_at,
    }


def ep(n: int, created_at: str | None, updated_at: str | None) -> dict[str, Any]:
    stamps = {"created_at": created_at, "updated_at": updated_at}
    return {"id": f"log-{n}", "meta": {"timestamps": {k: v for k, v in stamps.items() if v}}}


SC_PAGE = AwareDecoder[CursorPage[SendcloudIntegrationLog]](CursorPage[SendcloudIntegrationLog])


def test_offsets_are_kept_and_a_missing_offset_means_utc() -> None:
    body = {
        "next": None,
        "results": [
            sc(1, "2024-03-01T02:02:00+01:00"),
            sc(2, "2024-03-01T02:02:00", payload={"created_at": "2024-03-01T02:02:00"}),
            sc(3, "2024-03-01T02:02:00.123456789Z"),
        ],
    }
    page = SC_PAGE.decode(json.dumps(body).encode())
    stamps = [log.created_at for log in page.results]
    assert stamps == [
        datetime(2024, 3, 1, 2, 2, tzinfo=PLUS_ONE),
        datetime(2024, 3, 1, 2, 2, tzinfo=UTC),
        datetime(2024, 3, 1, 2, 2, 0, 123457, tzinfo=UTC),
    ]
    assert stamps[0].utcoffset() == timedelta(hours=1)  # not normalised to UTC
    second = page.results[1]
    # Strings that are not datetime-typed are never touched, however they look.
    assert second.request is not None and second.response is not None
    assert second.request.payload == {"created_at": "2024-03-01T02:02:00"}
    assert second.request.headers == {"Date": "2024-01-01T00:00:00"}
    assert second.response.body == "2024-01-01T00:00:00"
    assert type(second) is SendcloudIntegrationLog


def test_the_fallback_gives_what_the_strict_decoder_gives_for_aware_input() -> None:
    naive = [sc(n, f"2024-03-01T02:02:{n:02d}") for n in range(5)]
    aware = [sc(n, f"2024-03-01T02:02:{n:02d}Z") for n in range(5)]
    got = SC_PAGE.decode(json.dumps({"next": "n", "results": naive}).encode())
    want = msgspec.json.decode(
        json.dumps({"next": "n", "results": aware}), type=CursorPage[SendcloudIntegrationLog]
    )
    assert got == want


def test_nested_and_optional_timestamps() -> None:
    decoder = AwareDecoder[ListPage[ElasticPathIntegrationLog]](ListPage[ElasticPathIntegrationLog])
    body = {
        "data": [
            ep(1, "2017-10-30T18:15:40", "2017-10-30T18:15:41+02:00"),
            ep(2, None, "2017-10-30T18:15:42"),
            ep(3, None, None),
        ]
    }
    logs = decoder.decode(json.dumps(body).encode()).data
    assert logs[0].created_at == datetime(2017, 10, 30, 18, 15, 40, tzinfo=UTC)
    assert logs[0].meta is not None and logs[0].meta.timestamps is not None
    assert logs[0].meta.timestamps.updated_at == datetime(
        2017, 10, 30, 18, 15, 41, tzinfo=timezone(timedelta(hours=2))
    )
    assert logs[1].meta is not None and logs[1].meta.timestamps is not None
    assert logs[1].meta.timestamps.updated_at == datetime(2017, 10, 30, 18, 15, 42, tzinfo=UTC)
    assert logs[2].created_at is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (sc(1, "yesterday"), r"(?i)datetime.*results.*created_at"),
        ({**sc(1, "2024-03-01T02:02:00"), "id": "x"}, r"(?i)int.*str.*results.*id"),
        ({**sc(1, "2024-03-01T02:02:00Z"), "id": "x"}, r"(?i)int.*str.*results.*id"),
    ],
)
def test_other_problems_are_still_validation_errors(record: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        SC_PAGE.decode(json.dumps({"results": [record]}).encode())


def test_malformed_json_is_a_decode_error_from_the_strict_pass() -> None:
    with pytest.raises(msgspec.DecodeError):
        SC_PAGE.decode(b'{"results": [')


class Node(msgspec.Struct):
    at: AwareDatetime
    children: list[Node] = []
    by_name: dict[str, Node] = {}


def test_recursive_types_dicts_and_lists() -> None:
    doc = {
        "at": "2024-01-01T00:00:00",
        "children": [
            {"at": "2024-01-01T00:00:01+01:00", "children": [{"at": "2024-01-01T00:00:02"}]}
        ],
        "by_name": {"x": {"at": "2024-01-01T00:00:03"}},
    }
    node = AwareDecoder[Node](Node).decode(json.dumps(doc).encode())
    assert node.at.tzinfo is UTC
    assert node.children[0].at.utcoffset() == timedelta(hours=1)
    assert node.children[0].children[0].at == datetime(2024, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert node.by_name["x"].at == datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC)


async def test_through_the_client_typed_and_raw_records_are_aware() -> None:
    url = EP_BASE + "/v2/integrations/logs?page%5Blimit%5D=100&page%5Boffset%5D=0"
    body = {"data": [ep(1, "2017-10-30T18:15:40", None)], "meta": {"results": {"total": 1}}}
    with aioresponses() as mock:
        mock.get(url, body=json.dumps(body), repeat=True)
        async with ElasticPathClient(BearerToken("tok"), **FAST) as client:
            [log] = await client.logs().collect()
            [raw] = await client.logs().raw().collect()
    assert log.created_at == raw.created_at == datetime(2017, 10, 30, 18, 15, 40, tzinfo=UTC)
