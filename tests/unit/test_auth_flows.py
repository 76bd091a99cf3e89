"""Authentication as seen on the wire: headers, token requests, caching, 401 handling."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from integration_logs_async import (
    AuthenticationError,
    BasicAuth,
    BearerToken,
    ClientCredentials,
    ElasticPathClient,
    SendcloudClient,
    ServerError,
)
from integration_logs_async._http import _tokens

from .._support.clients import FAST
from .._support.http import basic_authorization
from ._fakes import (
    EP_BASE,
    EP_TOKEN_URL,
    SC_BASE,
    SC_TOKEN_URL,
    USER_AGENT,
    calls,
    headers_of,
    total_requests,
)
from .conftest import FakeClock

SC_INTEGRATIONS = SC_BASE + "/integrations"
EP_JOBS = EP_BASE + "/v2/integrations/int-1/jobs?page%5Blimit%5D=100&page%5Boffset%5D=0"
EMPTY_EP_PAGE = {"data": [], "meta": {"limit": 100, "offset": 0, "current": 1, "total": 0}}


def sc_oauth(**settings: Any) -> SendcloudClient:
    made: SendcloudClient = SendcloudClient(
        ClientCredentials("cid", "csecret"), **{**FAST, **settings}
    )
    return made  # settings spread from a dict: the overloads cannot tell the version


def token_body(token: str, expires_in: int = 3600) -> dict[str, Any]:
    return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}


def bearer_of(call: Any) -> str:
    return str(headers_of(call)["Authorization"])


async def test_basic_auth_request_headers(mock: aioresponses) -> None:
    mock.get(SC_INTEGRATIONS, payload=[])
    async with SendcloudClient(BasicAuth("pub", "sec"), **FAST) as client:
        assert await client.integrations().collect() == []
    [call] = calls(mock, "GET", SC_INTEGRATIONS)
    assert headers_of(call) == {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Authorization": "Basic cHViOnNlYw==",
    }
    assert call.kwargs["data"] is None
    assert call.kwargs["allow_redirects"] is False
    assert total_requests(mock) == 1


async def test_bearer_token_request_headers(mock: aioresponses) -> None:
    mock.get(EP_JOBS, payload=EMPTY_EP_PAGE)
    async with ElasticPathClient(BearerToken("my-token"), **FAST) as client:
        assert await client.jobs("int-1").collect() == []
    [call] = calls(mock, "GET", EP_JOBS)
    assert headers_of(call)["Authorization"] == "Bearer my-token"
    assert total_requests(mock) == 1  # no token request


async def test_sendcloud_oauth_token_request_shape(mock: aioresponses) -> None:
    mock.post(SC_TOKEN_URL, payload=token_body("sc-tok"))
    mock.get(SC_INTEGRATIONS, payload=[])
    async with sc_oauth() as client:
        await client.integrations().collect()
        assert client.stats.token_requests == 1
    [post] = calls(mock, "POST", SC_TOKEN_URL)
    assert post.kwargs["data"] == {"grant_type": "client_credentials", "scope": "api"}
    assert urlencode(post.kwargs["data"]) == "grant_type=client_credentials&scope=api"
    assert headers_of(post) == {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Authorization": basic_authorization("cid", "csecret"),
    }
    [get] = calls(mock, "GET", SC_INTEGRATIONS)
    assert bearer_of(get) == "Bearer sc-tok"


async def test_elastic_path_token_request_shape_and_data_envelope(mock: aioresponses) -> None:
    mock.post(
        EP_TOKEN_URL,
        payload={"data": {"access_token": "ep-tok", "token_type": "Bearer", "expires_in": 3600}},
    )
    mock.get(EP_JOBS, payload=EMPTY_EP_PAGE)
    async with ElasticPathClient(ClientCredentials("cid", "csecret"), **FAST) as client:
        await client.jobs("int-1").collect()
    [post] = calls(mock, "POST", EP_TOKEN_URL)
    assert post.kwargs["data"] == {
        "grant_type": "client_credentials",
        "client_id": "cid",
        "client_secret": "csecret",
    }
    assert urlencode(post.kwargs["data"]) == (
        "grant_type=client_credentials&client_id=cid&client_secret=csecret"
    )
    assert headers_of(post) == {"User-Agent": USER_AGENT, "Accept": "application/json"}
    [get] = calls(mock, "GET", EP_JOBS)
    assert bearer_of(get) == "Bearer ep-tok"


async def test_elastic_path_token_url_follows_base_url(mock: aioresponses) -> None:
    base = "https://euwest.api.elasticpath.com"
    mock.post(base + "/oauth/access_token", payload=token_body("eu-tok"))
    mock.get(
        base + "/v2/integrations/int-1/jobs?page%5Blimit%5D=100&page%5Boffset%5D=0",
        payload=EMPTY_EP_PAGE,
    )
    async with ElasticPathClient(
        ClientCredentials("cid", "csecret"), base_url=base + "/", **FAST
    ) as client:
        await client.jobs("int-1").collect()
    assert len(calls(mock, "POST", base + "/oauth/access_token")) == 1
    assert total_requests(mock) == 2


async def test_explicit_token_url_and_scope(mock: aioresponses) -> None:
    token_url = "https://auth.test/oauth2/token"
    mock.post(token_url, payload=token_body("custom"))
    mock.get(SC_INTEGRATIONS, payload=[])
    creds = ClientCredentials("cid", "csecret", token_url=token_url, scope="integrations")
    async with SendcloudClient(creds, **FAST) as client:
        await client.integrations().collect()
    [post] = calls(mock, "POST", token_url)
    assert post.kwargs["data"] == {"grant_type": "client_credentials", "scope": "integrations"}
    assert calls(mock, "POST", SC_TOKEN_URL) == []


async def test_token_is_cached_across_requests(mock: aioresponses) -> None:
    mock.post(SC_TOKEN_URL, payload=token_body("cached"))
    mock.get(SC_INTEGRATIONS, payload=[], repeat=True)
    async with sc_oauth() as client:
        for _ in range(3):
            await client.integrations().collect()
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 1
    assert [bearer_of(c) for c in calls(mock, "GET", SC_INTEGRATIONS)] == ["Bearer cached"] * 3


async def test_token_refreshed_shortly_before_expiry(
    mock: aioresponses, monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock
) -> None:
    monkeypatch.setattr(_tokens, "time", fake_clock)
    mock.post(SC_TOKEN_URL, payload=token_body("first", expires_in=600))
    mock.post(SC_TOKEN_URL, payload=token_body("second", expires_in=600))
    mock.get(SC_INTEGRATIONS, payload=[], repeat=True)
    async with sc_oauth(token_refresh_margin=30) as client:
        await client.integrations().collect()
        fake_clock.advance(569)
        await client.integrations().collect()
        fake_clock.advance(2)  # 29 s before expiry: inside the 30 s margin
        await client.integrations().collect()
    assert [bearer_of(c) for c in calls(mock, "GET", SC_INTEGRATIONS)] == [
        "Bearer first",
        "Bearer first",
        "Bearer second",
    ]
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 2


async def test_token_expiry_from_epoch(
    mock: aioresponses, monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock
) -> None:
    monkeypatch.setattr(_tokens, "time", fake_clock)
    expires = fake_clock.wall + 1000
    mock.post(EP_TOKEN_URL, payload={"data": {"access_token": "a", "expires": expires}})
    mock.post(EP_TOKEN_URL, payload={"data": {"access_token": "b", "expires": expires + 1000}})
    mock.get(EP_JOBS, payload=EMPTY_EP_PAGE, repeat=True)
    async with ElasticPathClient(ClientCredentials("cid", "csecret"), **FAST) as client:
        await client.jobs("int-1").collect()
        fake_clock.advance(939)
        await client.jobs("int-1").collect()
        fake_clock.advance(2)  # 59 s left < 60 s margin
        await client.jobs("int-1").collect()
    assert [bearer_of(c) for c in calls(mock, "GET", EP_JOBS)] == [
        "Bearer a",
        "Bearer a",
        "Bearer b",
    ]


async def test_twenty_concurrent_first_requests_make_one_token_request(
    mock: aioresponses,
) -> None:
    async def slow_token(url: URL, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.02)
        return CallbackResult(body=json.dumps(token_body("shared")))

    mock.post(SC_TOKEN_URL, callback=slow_token)  # a second POST would be refused
    mock.get(SC_INTEGRATIONS, payload=[], repeat=True)
    async with sc_oauth() as client:
        results = await asyncio.gather(*(client.integrations().collect() for _ in range(20)))
        assert client.stats.token_requests == 1
    assert results == [[]] * 20
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 1
    gets = calls(mock, "GET", SC_INTEGRATIONS)
    assert [bearer_of(c) for c in gets] == ["Bearer shared"] * 20


async def test_401_refreshes_token_once_and_replays_once(mock: aioresponses) -> None:
    mock.post(SC_TOKEN_URL, payload=token_body("old"))
    mock.post(SC_TOKEN_URL, payload=token_body("new"))

    def api(url: URL, **kwargs: Any) -> CallbackResult:
        if kwargs["headers"]["Authorization"] == "Bearer old":
            return CallbackResult(status=401, body='{"error": {"code": 401, "message": "expired"}}')
        return CallbackResult(body="[]")

    mock.get(SC_INTEGRATIONS, callback=api, repeat=True)
    async with sc_oauth() as client:
        assert await client.integrations().collect() == []
        assert client.stats.retries == 0
    assert [bearer_of(c) for c in calls(mock, "GET", SC_INTEGRATIONS)] == [
        "Bearer old",
        "Bearer new",
    ]
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 2


async def test_concurrent_401s_refresh_the_failed_token_only_once(mock: aioresponses) -> None:
    tokens = iter(["old", "new", "newer"])
    arrived: list[str] = []
    both_sent = asyncio.Event()

    def token(url: URL, **kwargs: Any) -> CallbackResult:
        return CallbackResult(body=json.dumps(token_body(next(tokens))))

    async def api(url: URL, **kwargs: Any) -> CallbackResult:
        auth = kwargs["headers"]["Authorization"]
        arrived.append(auth)
        if auth == "Bearer old":
            if arrived.count("Bearer old") == 2:
                both_sent.set()
            await asyncio.wait_for(both_sent.wait(), 1)
            return CallbackResult(status=401)
        return CallbackResult(body="[]")

    mock.post(SC_TOKEN_URL, callback=token, repeat=True)
    mock.get(SC_INTEGRATIONS, callback=api, repeat=True)
    mock.get(SC_INTEGRATIONS + "?ordering=id", callback=api, repeat=True)
    async with sc_oauth() as client:
        # gather's result is a list at run time (typeshed says tuple)
        assert list(
            await asyncio.gather(
                client.integrations().collect(), client.integrations(ordering="id").collect()
            )
        ) == [
            [],
            [],
        ]
    # The second 401 carried the same (already replaced) token: no third token request.
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 2
    assert sorted(arrived) == ["Bearer new", "Bearer new", "Bearer old", "Bearer old"]


async def test_second_401_raises_authentication_error(mock: aioresponses) -> None:
    mock.post(SC_TOKEN_URL, payload=token_body("a"))
    mock.post(SC_TOKEN_URL, payload=token_body("b"))
    mock.get(SC_INTEGRATIONS, status=401, repeat=True)
    async with sc_oauth() as client:
        with pytest.raises(AuthenticationError) as info:
            await client.integrations().collect()
    assert info.value.status == 401
    assert info.value.url == SC_INTEGRATIONS
    assert [bearer_of(c) for c in calls(mock, "GET", SC_INTEGRATIONS)] == ["Bearer a", "Bearer b"]
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 2


async def test_bearer_token_401_raises_without_replay(mock: aioresponses) -> None:
    mock.get(EP_JOBS, status=401, payload={"errors": [{"status": 401, "title": "Unauthorized"}]})
    async with ElasticPathClient(BearerToken("stale"), **FAST) as client:
        with pytest.raises(AuthenticationError, match="HTTP 401: Unauthorized"):
            await client.jobs("int-1").collect()
    assert total_requests(mock) == 1


async def test_basic_auth_401_raises_without_replay(mock: aioresponses) -> None:
    mock.get(SC_INTEGRATIONS, status=401, repeat=True)
    async with SendcloudClient(BasicAuth("pub", "wrong"), **FAST) as client:
        with pytest.raises(AuthenticationError):
            await client.integrations().collect()
    assert total_requests(mock) == 1


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_rejected_token_request_raises_authentication_error(
    mock: aioresponses, status: int
) -> None:
    mock.post(
        SC_TOKEN_URL,
        status=status,
        payload={"error": "invalid_client", "error_description": "Client authentication failed"},
        repeat=True,
    )
    async with sc_oauth() as client:
        with pytest.raises(AuthenticationError) as info:
            await client.integrations().collect()
    exc = info.value
    assert type(exc) is AuthenticationError
    assert (exc.status, exc.method, exc.url) == (status, "POST", SC_TOKEN_URL)
    assert exc.errors[0].code == "invalid_client"
    assert exc.errors[0].detail == "Client authentication failed"
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 1  # not retried
    assert calls(mock, "GET", SC_INTEGRATIONS) == []  # the API was never called


async def test_token_request_is_retried_on_server_errors(mock: aioresponses) -> None:
    mock.post(SC_TOKEN_URL, status=503)
    mock.post(SC_TOKEN_URL, payload=token_body("after-retry"))
    mock.get(SC_INTEGRATIONS, payload=[])
    async with sc_oauth() as client:
        await client.integrations().collect()
        assert client.stats.retries == 1
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 2
    assert bearer_of(calls(mock, "GET", SC_INTEGRATIONS)[0]) == "Bearer after-retry"


async def test_failing_token_endpoint_is_tried_max_attempts_times(mock: aioresponses) -> None:
    mock.post(SC_TOKEN_URL, status=503, repeat=True)
    async with sc_oauth(max_attempts=3) as client:
        with pytest.raises(ServerError) as info:
            await client.integrations().collect()
    assert (info.value.status, info.value.url) == (503, SC_TOKEN_URL)
    # The token request's own retries are the only ones: no retries of retries.
    assert len(calls(mock, "POST", SC_TOKEN_URL)) == 3
    assert calls(mock, "GET", SC_INTEGRATIONS) == []
