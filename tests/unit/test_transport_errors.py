"""Error mapping: status classes, provider error bodies, messages, decode errors, redirects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aioresponses import aioresponses

from integration_logs_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    BasicAuth,
    BearerToken,
    DecodeError,
    ElasticPathClient,
    FanOutError,
    IntegrationLogsError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ResponseTooLargeError,
    SendcloudClient,
    ServerError,
    TransportError,
    UnsafeURLError,
)
from integration_logs_async.errors import error_class_for, excerpt
from integration_logs_async.providers.sendcloud._errors import parse_errors as parse_error_body

from .._support.clients import FAST
from ._fakes import EP_BASE, SC_BASE, SC_LOGS, calls, requested, total_requests

SC_URL = SC_BASE + "/integrations"
EP_URL = EP_BASE + "/v2/integrations/int-1/jobs?page%5Blimit%5D=100&page%5Boffset%5D=0"


def sendcloud(**settings: Any) -> SendcloudClient:
    made: SendcloudClient = SendcloudClient(
        BasicAuth("pub", "sec"), **{**FAST, "max_attempts": 1, **settings}
    )
    return made  # settings spread from a dict: the overloads cannot tell the version


def elasticpath(**settings: Any) -> ElasticPathClient:
    return ElasticPathClient(BearerToken("tok"), **{**FAST, "max_attempts": 1, **settings})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (408, APIError),
        (409, APIError),
        (418, APIError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
    ],
)
async def test_status_maps_to_error_class(
    mock: aioresponses, status: int, cls: type[APIError]
) -> None:
    mock.get(EP_URL, status=status, payload={"errors": [{"status": status, "title": "Nope"}]})
    async with elasticpath() as client:
        with pytest.raises(APIError) as info:
            await client.jobs("int-1").collect()
    exc = info.value
    assert type(exc) is cls
    assert isinstance(exc, IntegrationLogsError)
    assert (exc.status, exc.method, exc.url) == (status, "GET", EP_URL)
    assert exc.errors == (ProviderError(status=status, title="Nope"),)
    assert str(exc).startswith(f"GET {EP_URL} -> HTTP {status}: Nope. ")
    assert error_class_for(status) is cls


async def test_json_api_error_with_exact_message(mock: aioresponses) -> None:
    body = {
        "errors": [
            {"title": "Not Found", "status": 404, "detail": "The resource could not be found"}
        ]
    }
    mock.get(EP_URL, status=404, payload=body)
    async with elasticpath() as client:
        with pytest.raises(NotFoundError) as info:
            await client.jobs("int-1").collect()
    assert str(info.value) == (
        f"GET {EP_URL} -> HTTP 404: Not Found: The resource could not be found. Check the "
        "integration/job id and that base_url points at the right API and region."
    )
    assert info.value.excerpt == ""


async def test_json_api_status_as_string_and_source_pointer(mock: aioresponses) -> None:
    body = {
        "errors": [
            {
                "status": "400",
                "title": "required",
                "detail": "enabled is required",
                "source": {"pointer": "/data/attributes/enabled"},
            },
            {"status": "bad", "title": "second", "source": "name", "code": 17},
        ]
    }
    mock.get(EP_URL, status=400, payload=body)
    async with elasticpath() as client:
        with pytest.raises(BadRequestError) as info:
            await client.jobs("int-1").collect()
    assert info.value.errors == (
        ProviderError(
            status=400,
            title="required",
            detail="enabled is required",
            source="/data/attributes/enabled",
        ),
        ProviderError(status=None, title="second", code="17", source="name"),
    )
    assert "HTTP 400: required: enabled is required; second." in str(info.value)


async def test_sendcloud_error_object(mock: aioresponses) -> None:
    body = {
        "error": {"code": 404, "message": "Not found.", "request": "api/v2/integrations/9/logs"}
    }
    url = SC_BASE + "/integrations/9/logs"
    mock.get(url, status=404, payload=body)
    async with sendcloud() as client:
        with pytest.raises(NotFoundError) as info:
            await client.integration_logs(9).collect()
    assert info.value.errors == (ProviderError(status=404, title="Not found.", code="404"),)
    assert str(info.value).startswith(f"GET {url} -> HTTP 404: Not found. Check")


async def test_request_id_header_is_reported(mock: aioresponses) -> None:
    mock.get(SC_URL, status=500, body="", headers={"X-Request-Id": "req-42"})
    async with sendcloud() as client:
        with pytest.raises(ServerError) as info:
            await client.integrations().collect()
    assert info.value.request_id == "req-42"
    assert str(info.value) == (
        f"GET {SC_URL} -> HTTP 500: (empty body) [request id req-42]. The provider failed; "
        "retry later or resume the stream from its checkpoint."
    )


async def test_html_error_page_is_excerpted(mock: aioresponses) -> None:
    page = "<html>\n  <body>\n    <h1>502 Bad Gateway</h1>\n  </body>\n</html>\n"
    mock.get(SC_URL, status=502, body=page, content_type="text/html")
    async with sendcloud() as client:
        with pytest.raises(ServerError) as info:
            await client.integrations().collect()
    assert info.value.errors == ()
    assert info.value.excerpt == "<html> <body> <h1>502 Bad Gateway</h1> </body> </html>"
    assert f"HTTP 502: {info.value.excerpt}." in str(info.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"errors": [{"status": 500, "title": "Internal Server Error"}]}',
            (ProviderError(status=500, title="Internal Server Error"),),
        ),
        (
            b'{"error": {"code": "invalid", "message": "Bad page"}}',
            (ProviderError(title="Bad page", code="invalid"),),
        ),
        (
            b'{"error": "invalid_client", "error_description": "bad secret"}',
            (ProviderError(code="invalid_client", title="invalid_client", detail="bad secret"),),
        ),
        (b'{"message": "Throttled"}', (ProviderError(title="Throttled"),)),
        (
            b'{"detail": "Authentication credentials were not provided."}',
            (ProviderError(detail="Authentication credentials were not provided."),),
        ),
        (b'{"errors": []}', ()),
        (b"[1, 2]", ()),
        (b'"text"', ()),
        (b"<html></html>", ()),
        (b"", ()),
        (b"[" * 10000, ()),
    ],
)
def test_parse_error_body(body: bytes, expected: tuple[ProviderError, ...]) -> None:
    assert parse_error_body(body) == expected


def test_provider_error_str() -> None:
    assert str(ProviderError(title="A", detail="B")) == "A: B"
    assert str(ProviderError(code="E1")) == "E1"
    assert str(ProviderError()) == "(no message)"


def test_excerpt_collapses_whitespace_and_truncates() -> None:
    assert excerpt(b"a \n\t b") == "a b"
    assert excerpt(b"x" * 300) == "x" * 200 + "…"
    assert excerpt(b"\xff\xfeok") == "\ufffd\ufffdok"


async def test_decode_error_for_html_200(mock: aioresponses) -> None:
    mock.get(SC_URL, body="<!doctype html><title>Login</title>", content_type="text/html")
    async with sendcloud() as client:
        with pytest.raises(DecodeError) as info:
            await client.integrations().collect()
    exc = info.value
    assert (exc.method, exc.url, exc.status) == ("GET", SC_URL, 200)
    assert exc.excerpt == "<!doctype html><title>Login</title>"
    message = str(exc)
    assert message.startswith(f"GET {SC_URL} -> HTTP 200: response body could not be decoded (")
    assert "Body starts with: '<!doctype html><title>Login</title>'" in message


@pytest.mark.parametrize(
    "body",
    [
        {"results": {"id": 1}},  # results not a list
        {"next": None},  # no results
        {"next": None, "results": [{"id": 1}]},  # record without base_url/created_at
        {"next": None, "results": [{"id": "x", "base_url": "b", "created_at": "2024-01-01"}]},
        [],  # a list instead of a page
    ],
)
async def test_decode_error_for_wrong_shapes_sendcloud(mock: aioresponses, body: Any) -> None:
    mock.get(SC_LOGS, body=json.dumps(body))
    async with sendcloud() as client:
        with pytest.raises(DecodeError) as info:
            await client.logs().collect()
    assert (info.value.url, info.value.status) == (SC_LOGS, 200)
    assert info.value.excerpt == json.dumps(body)


@pytest.mark.parametrize(
    "body",
    [{"meta": {}}, {"data": {"id": "x"}}, {"data": [{"type": "integration-job"}]}, {"data": None}],
)
async def test_decode_error_for_wrong_shapes_elastic_path(mock: aioresponses, body: Any) -> None:
    mock.get(EP_URL, body=json.dumps(body))
    async with elasticpath() as client:
        with pytest.raises(DecodeError) as info:
            await client.jobs("int-1").collect()
    assert info.value.url == EP_URL


async def test_integrations_object_instead_of_array(mock: aioresponses) -> None:
    mock.get(SC_URL, payload={"results": []})
    async with sendcloud() as client:
        with pytest.raises(DecodeError, match=r"could not be decoded \((?i:.*array)") as info:
            await client.integrations().collect()
    assert info.value.url == SC_URL  # our text; msgspec's own wording only loosely


async def test_response_too_large(mock: aioresponses) -> None:
    mock.get(SC_URL, body="[" + "1," * 100 + "1]", repeat=True)
    async with sendcloud(max_response_bytes=100, max_attempts=3) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            await client.integrations().collect()
    assert (info.value.url, info.value.status, info.value.limit) == (SC_URL, 200, 100)
    assert "exceeds max_response_bytes=100" in str(info.value)
    assert total_requests(mock) == 1  # not retried


async def test_same_origin_redirect_is_followed(mock: aioresponses) -> None:
    mock.get(SC_URL, status=301, headers={"Location": "/api/v2/integrations/"})
    mock.get(SC_URL + "/", payload=[])
    async with sendcloud() as client:
        assert await client.integrations().collect() == []
    [follow] = calls(mock, "GET", SC_URL + "/")
    assert follow.kwargs["headers"]["Authorization"] == "Basic cHViOnNlYw=="


async def test_cross_origin_redirect_is_refused(mock: aioresponses) -> None:
    mock.get(SC_URL, status=302, headers={"Location": "https://evil.test/steal"})
    mock.get("https://evil.test/steal", payload=[])
    async with sendcloud() as client:
        with pytest.raises(UnsafeURLError) as info:
            await client.integrations().collect()
    assert info.value.url == "https://evil.test/steal"
    assert info.value.expected_origin == "https://panel.sendcloud.sc"
    assert "refusing to follow redirect to https://evil.test/steal" in str(info.value)
    assert requested(mock) == {("GET", SC_URL): 1}


async def test_redirect_loop_stops(mock: aioresponses) -> None:
    mock.get(SC_URL, status=302, headers={"Location": SC_URL}, repeat=True)
    async with sendcloud() as client:
        with pytest.raises(APIError) as info:
            await client.integrations().collect()
    assert info.value.status == 302
    assert total_requests(mock) == 4  # the request and three redirects


async def test_transport_error_message(mock: aioresponses) -> None:
    mock.get(SC_URL)  # registered for nothing else: any other URL is refused
    async with sendcloud() as client:
        with pytest.raises(TransportError) as info:
            await client.integration_logs(5).collect()
    url = SC_BASE + "/integrations/5/logs"
    assert info.value.url == url
    assert str(info.value).startswith(f"GET {url}: ClientConnectionError: Connection refused")


def test_error_hierarchy() -> None:
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        RateLimitError,
        ServerError,
    ):
        assert issubclass(cls, APIError)
    for base in (
        APIError,
        TransportError,
        DecodeError,
        UnsafeURLError,
        PaginationError,
        FanOutError,
        ResponseTooLargeError,
    ):
        assert issubclass(base, IntegrationLogsError)


def test_fan_out_error_message() -> None:
    failures: dict[str, BaseException] = {f"integration {i}": ValueError(f"e{i}") for i in range(5)}
    exc = FanOutError(failures)
    assert str(exc) == (
        "5 stream(s) failed: integration 0: e0; integration 1: e1; integration 2: e2 (and 2 more)"
    )
    assert exc.failures is failures
