"""Credentials objects, token parsing, token requests and the token cache (no HTTP)."""

from __future__ import annotations

import asyncio
import base64

import pytest

from integration_logs_async import BasicAuth, BearerToken, ClientCredentials
from integration_logs_async._http import _tokens
from integration_logs_async._http._tokens import (
    StaticAuthenticator,
    TokenAuthenticator,
    TokenEndpoint,
    make_authenticator,
    parse_token_response,
    token_request,
)

from .conftest import FakeClock

EP_TOKEN_EXAMPLE = b"""{
  "data": {
    "access_token": "xa3521ca621113e44eeed9232fa3e54571cb08bc",
    "token_type": "Bearer",
    "expires_in": 3600,
    "expires": 1524486008,
    "identifier": "client_credentials"
  }
}"""


# --- credentials ---------------------------------------------------------------------------


def test_basic_auth_header_is_base64_of_user_colon_password() -> None:
    auth = BasicAuth("public-key", "secret-key")
    assert auth.header == "Basic cHVibGljLWtleTpzZWNyZXQta2V5"
    assert base64.b64decode(auth.header.split()[1]) == b"public-key:secret-key"
    assert auth.secrets() == ("secret-key", "cHVibGljLWtleTpzZWNyZXQta2V5")


@pytest.mark.parametrize(("user", "password"), [("", "x"), ("x", ""), ("", "")])
def test_basic_auth_rejects_empty_parts(user: str, password: str) -> None:
    with pytest.raises(ValueError, match="non-empty username and password"):
        BasicAuth(user, password)


def test_bearer_token_and_client_credentials_reject_empty() -> None:
    with pytest.raises(ValueError, match="non-empty token"):
        BearerToken("")
    with pytest.raises(ValueError, match="non-empty client_id and client_secret"):
        ClientCredentials("", "s")
    with pytest.raises(ValueError, match="non-empty client_id and client_secret"):
        ClientCredentials("id", "")


def test_client_credentials_secrets_include_basic_encoding() -> None:
    creds = ClientCredentials("cid", "csecret")
    assert creds.secrets() == ("csecret", base64.b64encode(b"cid:csecret").decode())


# --- token responses -------------------------------------------------------------------------


def test_parse_token_at_top_level() -> None:
    body = b'{"access_token": "abc", "token_type": "Bearer", "expires_in": 7200}'
    assert parse_token_response(body) == ("abc", 7200.0)


def test_parse_token_under_data_elastic_path_example() -> None:
    # expires_in wins over the (long past) epoch in the documented example
    assert parse_token_response(EP_TOKEN_EXAMPLE, now=1_700_000_000.0) == (
        "xa3521ca621113e44eeed9232fa3e54571cb08bc",
        3600.0,
    )


def test_parse_token_expires_epoch_becomes_lifetime() -> None:
    body = b'{"data": {"access_token": "t", "expires": 1000400}}'
    assert parse_token_response(body, now=1000000.0) == ("t", 400.0)
    top = b'{"access_token": "t", "expires": 1000400}'
    assert parse_token_response(top, now=1000100.0) == ("t", 300.0)


def test_parse_token_expired_epoch_is_clamped_to_zero() -> None:
    body = b'{"access_token": "t", "expires": 100}'
    assert parse_token_response(body, now=200.0) == ("t", 0.0)


def test_parse_token_without_expiry_defaults_to_an_hour() -> None:
    assert parse_token_response(b'{"access_token": "t"}') == ("t", 3600.0)


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"data": {}}', b'{"access_token": ""}', b'{"data": {"token_type": "Bearer"}}'],
)
def test_parse_token_without_token_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="no access_token"):
        parse_token_response(body)


# --- token requests ------------------------------------------------------------------------


def test_token_request_with_basic_credentials_and_provider_scope() -> None:
    creds = ClientCredentials("cid", "csecret")
    endpoint = TokenEndpoint("https://auth.test/token", "basic", scope="api")
    form, headers = token_request(creds, endpoint)
    assert form == {"grant_type": "client_credentials", "scope": "api"}
    assert headers == {
        "Accept": "application/json",
        "Authorization": "Basic " + base64.b64encode(b"cid:csecret").decode(),
    }


def test_token_request_with_credentials_in_form() -> None:
    creds = ClientCredentials("cid", "csecret")
    form, headers = token_request(creds, TokenEndpoint("https://auth.test/token", "form"))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "cid",
        "client_secret": "csecret",
    }
    assert headers == {"Accept": "application/json"}


def test_token_request_scope_override_and_empty_scope() -> None:
    endpoint = TokenEndpoint("https://auth.test/token", "basic", scope="api")
    form, _ = token_request(ClientCredentials("c", "s", scope="read write"), endpoint)
    assert form == {"grant_type": "client_credentials", "scope": "read write"}
    form, _ = token_request(ClientCredentials("c", "s", scope=""), endpoint)
    assert form == {"grant_type": "client_credentials"}


# --- authenticators ----------------------------------------------------------------------------


class Fetcher:
    """A token fetcher handing out tok1, tok2, ... and recording its calls."""

    def __init__(self, lifetime: float = 3600.0, delay: float = 0.0) -> None:
        self.lifetime = lifetime
        self.delay = delay
        self.calls: list[tuple[str, dict[str, str], dict[str, str]]] = []

    async def __call__(
        self, url: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[str, float]:
        self.calls.append((url, form, headers))
        if self.delay:
            await asyncio.sleep(self.delay)
        return f"tok{len(self.calls)}", self.lifetime


def authenticator(fetch: Fetcher, margin: float = 60.0) -> TokenAuthenticator:
    return TokenAuthenticator(
        ClientCredentials("cid", "csecret"),
        TokenEndpoint("https://auth.test/token", "form"),
        fetch,
        refresh_margin=margin,
    )


async def test_token_authenticator_fetches_once_and_caches() -> None:
    fetch = Fetcher()
    auth = authenticator(fetch)
    assert auth.token_url == "https://auth.test/token"
    assert await auth.authorization() == ("Bearer tok1", 1)
    assert await auth.authorization() == ("Bearer tok1", 1)
    assert fetch.calls == [
        (
            "https://auth.test/token",
            {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret"},
            {"Accept": "application/json"},
        )
    ]


async def test_the_cached_header_is_offered_only_while_the_token_is_fresh(
    monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock
) -> None:
    monkeypatch.setattr(_tokens, "time", fake_clock)
    auth = authenticator(Fetcher(lifetime=1000.0), margin=60.0)
    assert auth.cached() is None  # no token yet: the caller must await authorization()
    assert await auth.authorization() == ("Bearer tok1", 1)
    assert auth.cached() == ("Bearer tok1", 1)
    fake_clock.advance(940.0)  # within the refresh margin
    assert auth.cached() is None
    assert await auth.authorization() == ("Bearer tok2", 2)
    assert auth.invalidate(2) and auth.cached() is None  # a 401 drops it too
    assert StaticAuthenticator("Basic x").cached() == ("Basic x", 0)


async def test_token_authenticator_is_single_flight() -> None:
    fetch = Fetcher(delay=0.01)
    auth = authenticator(fetch)
    results = await asyncio.gather(*(auth.authorization() for _ in range(20)))
    assert len(fetch.calls) == 1
    assert results == [("Bearer tok1", 1)] * 20


async def test_token_refreshed_shortly_before_expiry(
    monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock
) -> None:
    monkeypatch.setattr(_tokens, "time", fake_clock)
    fetch = Fetcher(lifetime=1000.0)
    auth = authenticator(fetch, margin=60.0)
    assert await auth.authorization() == ("Bearer tok1", 1)
    fake_clock.advance(939.9)
    assert await auth.authorization() == ("Bearer tok1", 1)
    fake_clock.advance(0.1)  # 60 s before expiry
    assert await auth.authorization() == ("Bearer tok2", 2)
    assert len(fetch.calls) == 2


async def test_short_lived_token_margin_is_a_tenth_of_its_lifetime(
    monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock
) -> None:
    monkeypatch.setattr(_tokens, "time", fake_clock)
    fetch = Fetcher(lifetime=30.0)
    auth = authenticator(fetch, margin=60.0)
    await auth.authorization()
    fake_clock.advance(26.9)
    assert await auth.authorization() == ("Bearer tok1", 1)
    fake_clock.advance(0.1)  # 27 s = 30 - min(60, 3)
    assert await auth.authorization() == ("Bearer tok2", 2)


async def test_invalidate_drops_only_the_current_generation() -> None:
    fetch = Fetcher()
    auth = authenticator(fetch)
    assert await auth.authorization() == ("Bearer tok1", 1)
    assert auth.invalidate(0) is True  # stale: nothing dropped
    assert await auth.authorization() == ("Bearer tok1", 1)
    assert auth.invalidate(1) is True
    assert await auth.authorization() == ("Bearer tok2", 2)
    auth.invalidate(1)  # a late 401 for the old token must not drop tok2
    assert await auth.authorization() == ("Bearer tok2", 2)
    assert len(fetch.calls) == 2


async def test_static_authenticators() -> None:
    fetch = Fetcher()
    endpoint = TokenEndpoint("https://auth.test/token", "form")
    basic_auth = make_authenticator(BasicAuth("u", "p"), endpoint, fetch, refresh_margin=1)
    bearer = make_authenticator(BearerToken("abc"), endpoint, fetch, refresh_margin=1)
    assert isinstance(basic_auth, StaticAuthenticator)
    assert await basic_auth.authorization() == ("Basic dTpw", 0)
    assert await bearer.authorization() == ("Bearer abc", 0)
    assert bearer.invalidate(0) is False
    creds = make_authenticator(ClientCredentials("c", "s"), endpoint, fetch, refresh_margin=1)
    assert isinstance(creds, TokenAuthenticator)
    assert fetch.calls == []
    with pytest.raises(TypeError, match="auth must be BasicAuth"):
        make_authenticator("user:pass", endpoint, fetch, refresh_margin=1)  # type: ignore[arg-type]
