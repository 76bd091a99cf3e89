"""A failed token request: TokenRequestFailed inside, not retried again, the public error out."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from integration_logs_async import (
    APIError,
    AuthenticationError,
    ClientCredentials,
    DecodeError,
    IntegrationLogsError,
    NotFoundError,
    SendcloudClient,
    ServerError,
    TransportError,
)
from integration_logs_async._http._body_buffers import Body
from integration_logs_async._http._tokens import TokenPost, TokenRequestFailed, fetch_token
from integration_logs_async.errors import error_class_for

from .._support.clients import FAST
from ._fakes import SC_BASE, SC_TOKEN_URL, calls

SC_INTEGRATIONS = SC_BASE + "/integrations"


def failing_post(error: IntegrationLogsError) -> TokenPost:
    async def post(
        url: URL,
        form: dict[str, str],
        headers: dict[str, str],
        decode: Callable[[Body], tuple[str, float]],
    ) -> tuple[str, float]:
        raise error

    return post


def api_error(status: int) -> APIError:
    return error_class_for(status)(status=status, method="POST", url=SC_TOKEN_URL)


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_a_refused_token_request_is_an_authentication_error(status: int) -> None:
    with pytest.raises(TokenRequestFailed) as info:
        await fetch_token(failing_post(api_error(status)), SC_TOKEN_URL, {}, {})
    error = info.value.error
    assert type(error) is AuthenticationError
    assert error.status == status


def test_token_request_failed_is_internal() -> None:
    assert not issubclass(TokenRequestFailed, IntegrationLogsError)


async def test_a_missing_token_endpoint_says_so() -> None:
    with pytest.raises(TokenRequestFailed) as info:
        await fetch_token(failing_post(api_error(404)), SC_TOKEN_URL, {}, {})
    assert type(info.value.error) is NotFoundError
    assert "The token endpoint was not found" in str(info.value.error)


@pytest.mark.parametrize(
    "error",
    [
        ServerError(status=503, method="POST", url=SC_TOKEN_URL),
        TransportError("POST x: connection refused", method="POST", url=SC_TOKEN_URL),
        DecodeError(method="POST", url=SC_TOKEN_URL, status=200, reason="no token", body=b"{}"),
    ],
)
async def test_other_failures_are_carried_as_they_are(error: IntegrationLogsError) -> None:
    with pytest.raises(TokenRequestFailed) as info:
        await fetch_token(failing_post(error), SC_TOKEN_URL, {}, {})
    assert info.value.error is error


async def test_a_token_answer_is_decoded_by_the_post() -> None:
    async def post(
        url: URL,
        form: dict[str, str],
        headers: dict[str, str],
        decode: Callable[[Body], tuple[str, float]],
    ) -> tuple[str, float]:
        assert url == URL(SC_TOKEN_URL)
        return decode(b'{"access_token": "t", "expires_in": 60}')

    assert await fetch_token(post, SC_TOKEN_URL, {}, {}) == ("t", 60.0)


async def test_an_unreachable_token_endpoint_is_tried_max_attempts_times(
    mock: aioresponses,
) -> None:
    mock.post(SC_TOKEN_URL, exception=aiohttp.ClientConnectionError("refused"), repeat=True)
    creds = ClientCredentials("id", "secret")
    async with SendcloudClient(creds, **{**FAST, "max_attempts": 3}) as client:
        with pytest.raises(TransportError) as info:
            await client.integrations().collect()
        assert client.stats.retries == 2  # the token request's own, no retries of retries
    assert type(info.value) is TransportError
    assert str(info.value).count("Gave up after 3 attempts") == 1
    assert info.value.__suppress_context__  # nothing internal chained to it
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 3
    assert calls(mock, "GET", SC_INTEGRATIONS) == []
