"""SendcloudV3Client: ``{"data": [...]}`` bodies, next pages in the ``Link`` header."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from aioresponses import aioresponses

from integration_logs_async import (
    BasicAuth,
    DecodeError,
    NotFoundError,
    PaginationError,
    ProviderError,
    SendcloudClient,
    SendcloudV3Client,
    SendcloudV3Integration,
    SendcloudV3IntegrationLog,
    UnsafeURLError,
    providers,
)

from .._support.clients import FAST

V3 = "https://panel.sendcloud.sc/api/v3"
LOGS = V3 + "/integrations/logs"
FIRST = LOGS + "?page_size=100"
SECOND = LOGS + "?cursor=cD0y&page_size=100"
THIRD = LOGS + "?cursor=cD0z&page_size=100"


def log(n: int, **extra: Any) -> dict[str, Any]:
    """A v3 log: no ``user_id``, ``additional_data`` (and no ``integration_id``, as the
    documented list examples)."""
    return {
        "id": n,
        "base_url": "https://shop.example",
        "full_url": f"https://shop.example/orders/{n}.json",
        "method": "POST",
        "response_code": 495,
        "response": {"headers": {"Content-Type": "text/html"}, "body": "<html></html>"},
        "request": {"headers": "raw header text", "payload": {"order_note": {"note": "x"}}},
        "created_at": f"2023-03-01T02:02:{n % 60:02d}+01:00",
        "exception_type": "requests.exceptions.SSLError",
        "exception": "An SSL error occurred",
        "protected": False,
        "additional_data": "",
        **extra,
    }


def client(**settings: Any) -> SendcloudV3Client:
    return SendcloudV3Client(BasicAuth("pub", "sec"), **{**FAST, **settings})


def pages(mock: aioresponses, second_link: str = f'<{THIRD}>; rel="next"') -> None:
    mock.get(FIRST, payload={"data": [log(1), log(2)]}, headers={"Link": f'<{SECOND}>; rel="next"'})
    links = f'<{FIRST}>; rel="prev", {second_link}'
    mock.get(SECOND, payload={"data": [log(3), log(4)]}, headers={"Link": links})
    mock.get(THIRD, payload={"data": [log(5)]}, headers={"Link": f'<{SECOND}>; rel="prev"'})


async def test_logs_follow_the_link_header_until_no_next(mock: aioresponses) -> None:
    pages(mock)
    async with client() as c:
        logs = await c.logs().collect()
    assert [x.id for x in logs] == [1, 2, 3, 4, 5]
    assert isinstance(logs[0], SendcloudV3IntegrationLog)
    assert logs[0].additional_data == "" and logs[0].integration_id is None
    assert logs[0].request is not None and logs[0].request.headers == "raw header text"


async def test_a_relative_link_and_a_rel_list_are_read_as_rfc_8288_says(
    mock: aioresponses,
) -> None:
    pages(mock, second_link='<logs?cursor=cD0z&page_size=100>; rel="Next last"')
    async with client() as c:
        assert [x.id for x in await c.logs().collect()] == [1, 2, 3, 4, 5]


async def test_checkpoints_resume_exactly_and_name_the_version(mock: aioresponses) -> None:
    pages(mock)
    async with client() as c:
        stream = c.logs()
        taken = []
        async for record in stream:
            taken.append(record.id)
            if record.id == 3:
                break
        token = stream.checkpoint
    mock.get(SECOND, payload={"data": [log(3), log(4)]}, headers={"Link": f'<{THIRD}>; rel="next"'})
    mock.get(THIRD, payload={"data": [log(5)]})
    async with client() as c:
        rest = [x.id for x in await c.logs(resume_from=token).collect()]
    assert taken + rest == [1, 2, 3, 4, 5]
    async with SendcloudClient(BasicAuth("pub", "sec"), **FAST) as v2:
        with pytest.raises(ValueError, match="sendcloud/v3"):
            v2.logs(resume_from=token)


async def test_an_off_origin_link_is_refused_after_its_page(mock: aioresponses) -> None:
    mock.get(
        FIRST, payload={"data": [log(1)]}, headers={"Link": '<https://evil.test/x>; rel="next"'}
    )
    async with client() as c:
        stream = c.logs()
        got = []
        with pytest.raises(UnsafeURLError, match="refusing to follow next link https://evil"):
            async for record in stream:
                got.append(record.id)
        assert got == [1]
        assert "evil" not in str(msgspec.json.decode(_b64(stream.checkpoint)))


def _b64(token: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


async def test_a_garbled_link_header_is_a_pagination_error(mock: aioresponses) -> None:
    mock.get(FIRST, payload={"data": [log(1)]}, headers={"Link": "next page: somewhere"})
    async with client() as c:
        with pytest.raises(PaginationError, match=r"Link header .*\(RFC 8288\)"):
            await c.logs().collect()


async def test_json_api_errors_and_an_unknown_integration(mock: aioresponses) -> None:
    body = {
        "errors": [
            {
                "status": 404,
                "code": "not_found",
                "title": "Not Found",
                "detail": "The Integration could not be found with the search criteria given",
            }
        ]
    }
    mock.get(V3 + "/integrations/9/logs?page_size=100", status=404, payload=body)
    async with client() as c:
        with pytest.raises(NotFoundError) as info:
            await c.integration_logs(9).collect()
    [error] = info.value.errors
    assert error == ProviderError(
        status=404,
        title="Not Found",
        detail="The Integration could not be found with the search criteria given",
        code="not_found",
    )


async def test_integrations_have_the_v3_field_names(mock: aioresponses) -> None:
    item = {
        "id": 23452345,
        "shop_name": "Integration #1",
        "type": "api",
        "started_failing_at": "2023-11-10T16:16:42Z",
        "last_fetched_at": "2023-11-10T16:15:09Z",
        "created_at": "2023-11-04T14:15:22Z",
        "updated_at": "2023-11-08T12:23:56Z",
        "feedback_type": "eager",
    }
    mock.get(V3 + "/integrations", payload={"data": [item]})
    async with client() as c:
        [got] = await c.integrations().collect()
    assert isinstance(got, SendcloudV3Integration)
    assert (got.type, got.feedback_type) == ("api", "eager")
    summary = SendcloudV3Client.spec.summarize_integration(got)
    assert summary.status == "failing since 2023-11-10T16:16:42+00:00"


def test_the_registry_knows_both_sendcloud_versions() -> None:
    assert providers.client_class("sendcloud") is SendcloudClient
    assert providers.client_class("sendcloud", api_version=3) is SendcloudV3Client
    with pytest.raises(ValueError, match="Sendcloud API version must be 2 or 3, not 4"):
        providers.client_class("sendcloud", api_version=4)
    spec = SendcloudV3Client.spec
    assert (spec.name, spec.api_version, spec.checkpoint_name) == ("sendcloud", 3, "sendcloud/v3")
    assert spec.base_url == V3 and spec.max_page_size == 100


@pytest.mark.parametrize(
    "body",
    [
        {"next": None, "previous": None, "results": [log(1)]},  # a v2 page: a v2 base URL
        {"data": log(1)},  # data that is not a list
    ],
)
async def test_a_body_that_is_not_a_v3_page_says_what_was_expected(
    mock: aioresponses, body: dict[str, Any]
) -> None:
    mock.get(FIRST, payload=body)
    async with client(retry_decode_errors=False) as c:
        with pytest.raises(DecodeError) as info:
            await c.logs().collect()
    message = str(info.value)
    assert 'expected a Sendcloud API v3 page, {"data": [...]}' in message
    assert "check that base_url is the v3 API, ending in /api/v3" in message


async def test_a_v3_body_on_the_v2_client_says_what_was_expected(mock: aioresponses) -> None:
    mock.get("https://panel.sendcloud.sc/api/v2/integrations/logs", payload={"data": [log(1)]})
    async with SendcloudClient(BasicAuth("pub", "sec"), **FAST, retry_decode_errors=False) as c:
        with pytest.raises(
            DecodeError, match="check that base_url is the v2 API, ending in /api/v2"
        ):
            await c.logs().collect()


def test_sendcloud_client_with_api_version_3_is_the_v3_client() -> None:
    auth = BasicAuth("pub", "sec")
    v3 = SendcloudClient(auth, api_version=3)
    assert type(v3) is SendcloudV3Client and v3.base_url == V3
    assert type(SendcloudClient(auth)) is SendcloudClient
    assert type(SendcloudClient(auth, api_version=2)) is SendcloudClient
    assert type(SendcloudV3Client(auth, api_version=3)) is SendcloudV3Client
    with pytest.raises(ValueError, match="Sendcloud api_version must be 2 or 3, not 4"):
        SendcloudClient(auth, api_version=4)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="SendcloudV3Client speaks Sendcloud API v3, not 2"):
        SendcloudV3Client(auth, api_version=2)
    with pytest.raises(ValueError, match=r"speaks Sendcloud API v3, not 3\.0"):
        SendcloudV3Client(auth, api_version=3.0)  # type: ignore[call-overload]
