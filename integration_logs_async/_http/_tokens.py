"""Turning credentials into ``Authorization`` headers; OAuth2 token requests, caching, refresh.

Token refresh is single-flight: however many requests need a token at once, one token
request is made and everyone shares its result. On a 401 the token that failed is dropped
(only if it is still the current one) and the request is replayed once.

A token request is sent like any request (paced, retried, within the deadline); one that
fails for good raises :class:`TokenRequestFailed`, which the request waiting for the token
does not retry (that would make up to ``max_attempts**2`` token requests): the transport
raises the error it carries.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import msgspec
from yarl import URL

from .._constants import TOKEN_DEFAULT_LIFETIME
from ..auth import Auth, BasicAuth, BearerToken, ClientCredentials
from ..errors import APIError, IntegrationLogsError, error_class_for
from ._body_buffers import Body

TokenFetcher = Callable[[str, dict[str, str], dict[str, str]], Awaitable[tuple[str, float]]]
"""Posts a form (url, form, headers); returns ``(token, lifetime)`` parsed from a 2xx answer."""

TokenPost = Callable[
    [URL, dict[str, str], dict[str, str], Callable[[Body], tuple[str, float]]],
    Awaitable[tuple[str, float]],
]
"""Sends a POST (url, form, headers) with the client's retries and decodes its 2xx body."""


@dataclass(frozen=True, slots=True)
class TokenEndpoint:
    """How one provider's client-credentials grant is requested (provider data)."""

    url: str
    credentials_in: Literal["basic", "form"]
    scope: str | None = None


class _TokenBody(msgspec.Struct):
    access_token: str | None = None
    expires_in: float | None = None
    expires: float | None = None
    token_type: str | None = None
    data: _TokenBody | None = None


def parse_token_response(body: Body, *, now: float | None = None) -> tuple[str, float]:
    """``(access_token, lifetime_seconds)`` from a token response.

    Accepts the token object at the top level or under ``data``; the lifetime comes from
    ``expires_in`` or else ``expires`` (epoch seconds). Raises ``ValueError`` when no token.
    """
    parsed = msgspec.json.decode(body, type=_TokenBody)
    if parsed.access_token is None and parsed.data is not None:
        parsed = parsed.data
    if not parsed.access_token:
        raise ValueError("token response has no access_token")
    if parsed.expires_in is not None:
        lifetime = parsed.expires_in
    elif parsed.expires is not None:
        lifetime = parsed.expires - (time.time() if now is None else now)
    else:
        lifetime = TOKEN_DEFAULT_LIFETIME
    return parsed.access_token, max(0.0, lifetime)


def token_request(
    creds: ClientCredentials, endpoint: TokenEndpoint
) -> tuple[dict[str, str], dict[str, str]]:
    """The form body and headers of a client-credentials token request (pure)."""
    form = {"grant_type": "client_credentials"}
    headers = {"Accept": "application/json"}
    if endpoint.credentials_in == "basic":
        raw = f"{creds.client_id}:{creds.client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
    else:
        form["client_id"] = creds.client_id
        form["client_secret"] = creds.client_secret
    scope = creds.scope if creds.scope is not None else endpoint.scope
    if scope:
        form["scope"] = scope
    return form, headers


class TokenRequestFailed(Exception):
    """A token request failed after its own retries; the transport raises ``error``."""

    def __init__(self, error: IntegrationLogsError) -> None:
        super().__init__(str(error))
        self.error = error


async def fetch_token(
    post: TokenPost, url: str, form: dict[str, str], headers: dict[str, str]
) -> tuple[str, float]:
    """``(token, lifetime)`` from the token endpoint, or :class:`TokenRequestFailed`."""
    try:
        return await post(URL(url), form, headers, parse_token_response)
    except APIError as exc:
        raise TokenRequestFailed(_token_refused(exc)) from None
    except IntegrationLogsError as exc:
        raise TokenRequestFailed(exc) from None


def _token_refused(exc: APIError) -> APIError:
    """The error a refused token request shows: 400/401/403 mean the credentials."""
    if exc.status == 404:  # not an id of ours: the token URL itself is wrong
        exc.hint = (
            "The token endpoint was not found: check base_url (a provider whose token URL "
            "is not fixed derives it from base_url) and token_url if you set one."
        )
        exc.args = (exc._message(),)
    if exc.status in (400, 401, 403):
        return error_class_for(401)(
            status=exc.status,
            method=exc.method,
            url=exc.url,
            errors=exc.errors,
            excerpt=exc.excerpt,
            request_id=exc.request_id,
        )
    return exc


class Authenticator(Protocol):
    """Supplies the ``Authorization`` header of each request."""

    renewable: bool
    """Whether a credential refused with a 401 can be replaced (a token), so a replay may help."""

    async def authorization(self) -> tuple[str, int]:
        """Header value and the generation of the credential it carries."""
        ...

    def cached(self) -> tuple[str, int] | None:
        """What :meth:`authorization` would return without waiting, or None when it must
        wait (e.g. for a token). Saves a coroutine per request on the common path."""
        ...

    def invalidate(self, generation: int) -> bool:
        """A request sent with ``generation`` got a 401; True if replaying may help."""
        ...

    async def aclose(self) -> None:
        """The client is closing: stop any credential request in flight."""
        ...


class StaticAuthenticator:
    """Basic auth or a fixed bearer token: nothing to refresh."""

    renewable = False

    def __init__(self, header: str) -> None:
        self._header = header

    async def authorization(self) -> tuple[str, int]:
        return self._header, 0

    def cached(self) -> tuple[str, int]:
        return self._header, 0

    def invalidate(self, generation: int) -> bool:
        return False

    async def aclose(self) -> None:
        return None


class TokenAuthenticator:
    """Caches an OAuth2 token, refreshes it shortly before expiry, single-flight."""

    renewable = True

    def __init__(
        self,
        creds: ClientCredentials,
        endpoint: TokenEndpoint,
        fetch: TokenFetcher,
        *,
        refresh_margin: float,
    ) -> None:
        self._creds = creds
        self._endpoint = endpoint
        self._fetch = fetch
        self._margin = refresh_margin
        self._token: str | None = None
        self._refresh_at = 0.0
        self._generation = 0
        self._inflight: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def token_url(self) -> str:
        """Where tokens are requested."""
        return self._endpoint.url

    def _valid(self) -> bool:
        return self._token is not None and time.monotonic() < self._refresh_at

    def cached(self) -> tuple[str, int] | None:
        if self._token is not None and time.monotonic() < self._refresh_at:
            return "Bearer " + self._token, self._generation
        return None

    async def authorization(self) -> tuple[str, int]:
        if not self._valid():
            if self._closed:
                raise RuntimeError(_CLOSED)
            # Single flight: every caller awaits the same token request and shares its
            # outcome, success or failure. shield(): a cancelled caller does not cancel it.
            if self._inflight is None or self._inflight.done():
                self._inflight = asyncio.create_task(self._refresh())
                # Every caller may have been cancelled meanwhile: the outcome is still seen,
                # so a failure is not reported as "Task exception was never retrieved".
                self._inflight.add_done_callback(_retrieve)
            inflight = self._inflight
            try:
                await asyncio.shield(inflight)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if inflight.cancelled() and (current is None or not current.cancelling()):
                    raise RuntimeError(_CLOSED) from None  # aclose() stopped the request
                raise
        assert self._token is not None
        return "Bearer " + self._token, self._generation

    async def _refresh(self) -> None:
        form, headers = token_request(self._creds, self._endpoint)
        token, lifetime = await self._fetch(self._endpoint.url, form, headers)
        margin = min(self._margin, lifetime * 0.1)
        self._token = token
        self._refresh_at = time.monotonic() + lifetime - margin
        self._generation += 1

    def invalidate(self, generation: int) -> bool:
        if generation == self._generation:
            self._token = None
        return True

    async def aclose(self) -> None:
        self._closed = True
        task, self._inflight = self._inflight, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})  # never raises the task's outcome


_CLOSED = "this client is closed; create a new one"


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


def make_authenticator(
    auth: Auth, endpoint: TokenEndpoint, fetch: TokenFetcher, *, refresh_margin: float
) -> Authenticator:
    """The authenticator for ``auth`` (the token endpoint is used for client credentials)."""
    if isinstance(auth, BasicAuth):
        return StaticAuthenticator(auth.header)
    if isinstance(auth, BearerToken):
        return StaticAuthenticator("Bearer " + auth.token)
    if isinstance(auth, ClientCredentials):
        return TokenAuthenticator(auth, endpoint, fetch, refresh_margin=refresh_margin)
    raise TypeError(
        f"auth must be BasicAuth, BearerToken or ClientCredentials, not {type(auth).__name__}"
    )


__all__ = [
    "Authenticator",
    "StaticAuthenticator",
    "TokenAuthenticator",
    "TokenEndpoint",
    "TokenFetcher",
    "TokenPost",
    "TokenRequestFailed",
    "fetch_token",
    "make_authenticator",
    "parse_token_response",
    "token_request",
]
