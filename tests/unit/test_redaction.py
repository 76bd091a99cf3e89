"""Secrets never show: not in reprs, exception messages or log lines."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from integration_logs_async import (
    AuthenticationError,
    BadRequestError,
    BasicAuth,
    BearerToken,
    ClientCredentials,
    DecodeError,
    ElasticPathClient,
    IntegrationLogsError,
    SendcloudClient,
    UnsafeURLError,
)
from integration_logs_async._http._redact import REDACTED, redact_headers, redact_text, redact_url
from integration_logs_async.cli._messages import in_cli_words

from .._support.clients import FAST
from ._fakes import EP_TOKEN_URL, SC_BASE, SC_LOGS, SC_TOKEN_URL, sc_log

PASSWORD = "sk-live-Secret-Password-123"
CLIENT_SECRET = "cs-Very-Secret-456"
TOKEN = "tok-Access-789"
SC_URL = SC_BASE + "/integrations"


def secrets_in(text: str) -> list[str]:
    candidates = [
        PASSWORD,
        CLIENT_SECRET,
        TOKEN,
        base64.b64encode(f"pub:{PASSWORD}".encode()).decode(),
        base64.b64encode(f"cid:{CLIENT_SECRET}".encode()).decode(),
    ]
    return [s for s in candidates if s in text]


# --- pure helpers ------------------------------------------------------------------------------


def test_redact_url() -> None:
    assert redact_url("https://user:pw@api.test/x?page=2") == "https://api.test/x?page=2"
    shown = redact_url(URL("https://api.test/x?access_token=abc&Client_Secret=def&page=2"))
    assert (
        shown
        == "https://api.test/x?access_token=%5BREDACTED%5D&Client_Secret=%5BREDACTED%5D&page=2"
    )
    assert (
        redact_url("https://api.test/x?signature=s&key=k&apikey=a&password=p").count("REDACTED")
        == 4
    )
    assert redact_url("https://api.test/v2/logs") == "https://api.test/v2/logs"


def test_redact_headers_and_text() -> None:
    headers = {"Authorization": "Basic abc", "cookie": "c", "Accept": "application/json"}
    assert redact_headers(headers) == {
        "Authorization": REDACTED,
        "cookie": REDACTED,
        "Accept": "application/json",
    }
    assert redact_text("a sec b sec", ("sec", "")) == f"a {REDACTED} b {REDACTED}"


# --- reprs -------------------------------------------------------------------------------------


def test_credentials_reprs() -> None:
    assert repr(BasicAuth("pub", PASSWORD)) == "BasicAuth(username='pub', password='***')"
    assert repr(BearerToken(TOKEN)) == "BearerToken(token='***')"
    assert repr(ClientCredentials("cid", CLIENT_SECRET)) == (
        "ClientCredentials(client_id='cid', client_secret='***', token_url=None, scope=None)"
    )
    for obj in (
        BasicAuth("pub", PASSWORD),
        BearerToken(TOKEN),
        ClientCredentials("c", CLIENT_SECRET),
    ):
        assert secrets_in(repr(obj)) == [] and secrets_in(str(obj)) == []


def test_client_reprs() -> None:
    sc = SendcloudClient(BasicAuth("pub", PASSWORD))
    ep = ElasticPathClient(ClientCredentials("cid", CLIENT_SECRET))
    assert repr(sc) == (
        "SendcloudClient(base_url='https://panel.sendcloud.sc/api/v2', "
        "auth=BasicAuth(username='pub', password='***'))"
    )
    assert secrets_in(repr(ep)) == []
    assert secrets_in(repr(sc.config)) == [] and secrets_in(repr(sc.stats)) == []


# --- exceptions ----------------------------------------------------------------------------------


async def test_error_body_echoing_credentials_is_redacted(mock: aioresponses) -> None:
    basic = base64.b64encode(f"pub:{PASSWORD}".encode()).decode()
    body = f"<p>invalid key {PASSWORD}; header was Basic {basic}</p>"
    mock.get(SC_URL, status=400, body=body, content_type="text/html")
    async with SendcloudClient(BasicAuth("pub", PASSWORD), **FAST) as client:
        with pytest.raises(BadRequestError) as info:
            await client.integrations().collect()
    exc = info.value
    assert exc.excerpt == f"<p>invalid key {REDACTED}; header was Basic {REDACTED}</p>"
    assert secrets_in(str(exc)) == [] and secrets_in(repr(exc)) == []


async def test_token_endpoint_errors_do_not_show_the_client_secret(mock: aioresponses) -> None:
    mock.post(EP_TOKEN_URL, status=401, body=f"bad client_secret {CLIENT_SECRET}")
    async with ElasticPathClient(ClientCredentials("cid", CLIENT_SECRET), **FAST) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.jobs("int-1").collect()
    assert secrets_in(str(info.value)) == []
    assert REDACTED in str(info.value)


async def test_malformed_token_response_does_not_show_the_token(mock: aioresponses) -> None:
    body = {"data": {"access_token": TOKEN, "expires_in": "one hour"}}
    mock.post(EP_TOKEN_URL, body=json.dumps(body), repeat=True)
    async with ElasticPathClient(
        ClientCredentials("cid", CLIENT_SECRET), **{**FAST, "max_attempts": 2}
    ) as client:
        with pytest.raises(DecodeError) as info:
            await client.jobs("int-1").collect()
    assert info.value.url == EP_TOKEN_URL
    assert secrets_in(str(info.value)) == []
    assert secrets_in(info.value.excerpt) == []
    assert '"access_token"' in info.value.excerpt  # the shape is still visible


async def test_unsafe_url_error_hides_query_credentials(mock: aioresponses) -> None:
    evil = "https://evil.test/logs?access_token=" + TOKEN
    mock.get(SC_LOGS, payload={"next": evil, "results": [sc_log(1)]})
    async with SendcloudClient(BasicAuth("pub", PASSWORD), **FAST) as client:
        with pytest.raises(UnsafeURLError) as info:
            await client.logs().collect()
    assert info.value.url == "https://evil.test/logs?access_token=%5BREDACTED%5D"
    assert secrets_in(str(info.value)) == []


async def test_nothing_secret_is_logged_at_debug(
    mock: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = iter([TOKEN, TOKEN + "-2"])

    def token(url: URL, **kwargs: Any) -> CallbackResult:
        return CallbackResult(body=json.dumps({"access_token": next(tokens), "expires_in": 60}))

    mock.post(SC_TOKEN_URL, callback=token, repeat=True)
    mock.get(SC_URL, status=401)  # -> token refresh and replay
    mock.get(SC_URL, status=503, body=f"upstream rejected {CLIENT_SECRET}")  # -> retry
    mock.get(SC_URL, status=429, headers={"Retry-After": "0"})  # -> pause and retry
    mock.get(SC_URL, status=400, body=f"echo {CLIENT_SECRET} {TOKEN}")
    errors: list[IntegrationLogsError] = []
    async with SendcloudClient(ClientCredentials("cid", CLIENT_SECRET), **FAST) as client:
        try:
            await client.integrations().collect()
        except BadRequestError as exc:
            errors.append(exc)
        logging.getLogger("test").debug("client %r", client)
    assert [type(e) for e in errors] == [BadRequestError]
    assert "retrying GET" in caplog.text and "refreshing the token" in caplog.text
    assert "429" in caplog.text
    assert secrets_in(caplog.text) == []
    assert secrets_in(str(errors[0])) == []


@pytest.mark.parametrize(
    ("token_url", "refused"),
    [
        (f"{SC_BASE}/token?client_secret={PASSWORD}", "must not carry a query"),
        (f"ftp://user:{PASSWORD}@example.test/token", "must not carry credentials"),
        (f"ftp://example.test/token?key={PASSWORD}", "must be an absolute http"),
    ],
)
def test_a_refused_token_url_does_not_show_its_secret(token_url: str, refused: str) -> None:
    auth = ClientCredentials("cid", "csecret", token_url=token_url)
    with pytest.raises(ValueError, match=refused) as info:
        SendcloudClient(auth=auth, base_url=SC_BASE)
    assert PASSWORD not in str(info.value)
    # on the command line, named as the user sets it (not the setting's internal name)
    shown = in_cli_words(str(info.value))
    assert shown.startswith("the token URL (SENDCLOUD_TOKEN_URL or EPCC_TOKEN_URL) ")
