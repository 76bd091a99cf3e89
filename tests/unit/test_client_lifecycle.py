"""Session ownership: what the clients open, close and leave alone."""

from __future__ import annotations

import gc
import warnings

import aiohttp
import pytest
from aioresponses import aioresponses

from integration_logs_async import BasicAuth, BearerToken, ElasticPathClient, SendcloudClient

from .._support.clients import FAST
from ._fakes import SC_BASE, calls

URL_ = SC_BASE + "/integrations"


async def test_async_with_closes_the_owned_session(mock: aioresponses) -> None:
    mock.get(URL_, payload=[])
    async with SendcloudClient(BasicAuth("a", "b"), **FAST) as client:
        await client.integrations().collect()
        session = client._transport._session
        assert session is not None and not session.closed
    assert session.closed
    with pytest.raises(RuntimeError, match="client is closed"):
        await client.integrations().collect()


async def test_aclose_is_idempotent_and_unused_clients_open_nothing() -> None:
    client = ElasticPathClient(BearerToken("t"))
    assert client._transport._session is None
    await client.aclose()
    await client.aclose()
    assert client._transport._session is None


async def test_caller_owned_session_is_not_closed(mock: aioresponses) -> None:
    mock.get(URL_, payload=[], repeat=True)
    async with aiohttp.ClientSession(headers={"X-Caller": "yes"}) as session:
        async with SendcloudClient(BasicAuth("a", "b"), session=session, **FAST) as client:
            await client.integrations().collect()
        assert not session.closed
        async with SendcloudClient(BasicAuth("a", "b"), session=session, **FAST) as again:
            await again.integrations().collect()  # the session is still usable
        [first, second] = calls(mock, "GET", URL_)
        assert first.kwargs["headers"]["X-Caller"] == "yes"
        assert "User-Agent" not in first.kwargs["headers"]  # the caller's session decides
        assert second.kwargs["headers"]["Authorization"] == "Basic YTpi"
    assert session.closed


async def test_no_unclosed_session_warning(mock: aioresponses) -> None:
    mock.get(URL_, payload=[])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with SendcloudClient(BasicAuth("a", "b"), **FAST) as client:
            await client.integrations().collect()
        del client
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_owned_session_sends_the_user_agent(mock: aioresponses) -> None:
    mock.get(URL_, payload=[])
    async with SendcloudClient(BasicAuth("a", "b"), user_agent="my-app/2", **FAST) as client:
        await client.integrations().collect()
    [call] = calls(mock, "GET", URL_)
    assert call.kwargs["headers"]["User-Agent"] == "my-app/2"
