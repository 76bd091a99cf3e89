"""The async HTTP transport: one attempt's I/O, pacing and deadlines, wired to the rest.

Everything provider-specific arrives as data (base URL, token endpoint, default rate limit,
error-body parser). What decides lives in pure code: which URLs are allowed in
``_origin.py``, what a response means in ``_classify.py``, whether and how long to retry in
``_retry.py``. The session and how it reads bodies are ``_session.py``'s. This module does the
I/O and keeps the counts, logs and events.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import aiohttp
import msgspec
from yarl import URL

from .._constants import EXPLICIT_RATE_LIMIT_MARGIN, LOGGER_NAME
from ..auth import Auth
from ..config import ClientConfig
from ..errors import APIError, TransportError
from ..events import TransportEvent, TransportStats
from ._body_buffers import Body
from ._classify import REAUTHENTICATE, ErrorParser, Failure, Redirect, ResponseClassifier
from ._deadlines import DeadlineClock
from ._decode_gate import DecodeGate
from ._origin import OriginPolicy, check_base_url
from ._ratelimit import AsyncRateLimiter
from ._redact import Secrets, redact_url
from ._response import Response, decode_response, links_of
from ._retry_loop import Retries
from ._session import BorrowedSession, OwnedSession
from ._tokens import (
    Authenticator,
    TokenEndpoint,
    TokenRequestFailed,
    fetch_token,
    make_authenticator,
)
from ._transport_errors import describe_transport_error

T = TypeVar("T")
logger = logging.getLogger(LOGGER_NAME)

_MAX_REDIRECTS = 3


class AsyncTransport:
    """Sends requests for one client. Owns (or borrows) an ``aiohttp.ClientSession``.

    ``origin`` is the client's :class:`OriginPolicy`: build request URLs with it.
    ``parse_errors`` reads the provider's error objects from an error body (the provider's
    hook: the transport knows no provider's error shape).
    """

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        token_endpoint: TokenEndpoint,
        config: ClientConfig,
        default_rate_limit: float,
        session: aiohttp.ClientSession | None = None,
        parse_errors: ErrorParser,
    ) -> None:
        self.config = config
        self._secrets = Secrets(auth.secrets())
        checked = check_base_url(base_url, allow_insecure_http=config.allow_insecure_http)
        self.origin = OriginPolicy(checked, redact=self._secrets.redact)
        check_base_url(
            token_endpoint.url, allow_insecure_http=config.allow_insecure_http, what="token_url"
        )
        self._auth: Authenticator = make_authenticator(
            auth, token_endpoint, self._fetch_token, refresh_margin=config.token_refresh_margin
        )
        rate = default_rate_limit if config.rate_limit is None else config.rate_limit
        margin = 0.0 if config.rate_limit is None else EXPLICIT_RATE_LIMIT_MARGIN
        self.limiter = AsyncRateLimiter(
            rate or None, burst=config.rate_limit_burst, headroom=margin
        )
        self.stats = TransportStats()
        # Every request's deadline (retries included), on one shared timer (``_deadlines.py``).
        self._deadlines = DeadlineClock()
        self._io = (
            OwnedSession(config, self._deadlines)
            if session is None
            else BorrowedSession(session, config)
        )
        self._ssl: bool = config.verify_ssl
        self._classifier = ResponseClassifier(
            self.origin,
            parse_errors,
            config.default_429_pause,
            config.retry_after_cap,
            self._secrets.redact,
        )
        self._retries = Retries(config, self.stats, self._emit, self._secrets.redact)

    @property
    def _session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session (None until the client's own is created)."""
        return self._io.current

    async def aclose(self) -> None:
        """Close the session if this transport created it. Idempotent."""
        self._io.refuse_requests()
        self._deadlines.close()
        await self._auth.aclose()  # a token request in flight would outlive the client
        await self._io.aclose()

    # --- public entry points -----------------------------------------------------------------

    async def get(
        self,
        url: URL | str,
        *,
        decode: Callable[[Body], T],
        params: Mapping[str, str | int] | None = None,
        gate: DecodeGate | None = None,
    ) -> Response[T]:
        """GET with auth, pacing, retries and the overall deadline; decode the 2xx body.

        ``url``: a ``str`` (a path under ``base_url``, or an absolute URL) is resolved and
        checked by :attr:`origin`; a :class:`~yarl.URL` is trusted to come from :attr:`origin`
        (``resolve``/``follow``, or built from one of those without changing its origin) and
        is not checked again. ``gate``: a fan-out child's decode gate, waited at after the body
        arrived (``_decode_gate.py``).
        """
        target = self.origin.resolve(url) if isinstance(url, str) else url
        if params:
            target = target.update_query({k: str(v) for k, v in params.items()})
        return await self._with_retries(
            "GET", target, None, {}, decode, authenticated=True, gate=gate
        )

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        decode: Callable[[Body], T],
    ) -> Response[T]:
        """A non-GET request: authenticated, paced, never retried automatically."""
        url = self.origin.resolve(path)
        data = msgspec.json.encode(json)
        headers = {"Content-Type": "application/json"}
        try:
            with self._deadlines.scope(self.config.request_deadline):
                return await self._attempt(method, url, data, headers, decode, authenticated=True)
        except TimeoutError:
            raise self._deadline_error(method, url) from None
        except TokenRequestFailed as failed:
            raise failed.error from None

    # --- retries and deadline ----------------------------------------------------------------

    def _deadline_error(self, method: str, url: URL) -> TransportError:
        return TransportError(
            f"{method} {redact_url(url)}: no success within request_deadline="
            f"{self.config.request_deadline:g} s (retries included). The provider is slow "
            "or unreachable; raise request_deadline or try later.",
            method=method,
            url=redact_url(url),
        )

    async def _with_retries(
        self,
        method: str,
        url: URL,
        data: Any,
        headers: dict[str, str],
        decode: Callable[[Body], T],
        *,
        authenticated: bool,
        gate: DecodeGate | None = None,
    ) -> Response[T]:
        retries = self._retries
        try:
            with self._deadlines.scope(self.config.request_deadline):
                try:  # the first attempt, without tenacity (``_retry_loop.py``)
                    return await self._attempt(
                        method, url, data, headers, decode, authenticated=authenticated, gate=gate
                    )
                except Exception as exc:
                    if not retries.enabled or not retries.worth_retrying(exc):
                        raise
                    failure = exc
                again = functools.partial(
                    self._attempt,
                    method,
                    url,
                    data,
                    headers,
                    decode,
                    authenticated=authenticated,
                    gate=gate,
                )
                return await retries.after(failure, method, url, again)
        except TimeoutError:
            raise self._deadline_error(method, url) from None
        except TokenRequestFailed as failed:
            raise failed.error from None

    # --- one attempt ---------------------------------------------------------------------------

    async def _attempt(
        self,
        method: str,
        url: URL,
        data: Any,
        headers: dict[str, str],
        decode: Callable[[Body], T],
        *,
        authenticated: bool,
        gate: DecodeGate | None = None,
    ) -> Response[T]:
        """One attempt: the exchange, plus the redirects it follows and its 401 replay (a loop:
        both are rare, and neither is a retry)."""
        replayed = False
        redirects = 0
        while True:
            grant = self.limiter.try_acquire()
            if grant is None:
                if self.limiter.paused_for > 0:
                    self.stats.paused += 1
                else:
                    self.stats.paced += 1
                grant = await self.limiter.acquire()
            send_headers = {"Accept": "application/json", **headers}
            generation: int | None = None
            if authenticated:
                credential = self._auth.cached() or await self._auth.authorization()
                send_headers["Authorization"], generation = credential
            # One exchange: send, and read the whole body (``self._io``: the session's way).
            started = time.monotonic()
            self.stats.requests += 1
            io = self._io
            try:
                with io.watch() as watch:
                    async with io.get().request(
                        method,
                        url,
                        data=data,
                        headers=send_headers,
                        allow_redirects=False,
                        timeout=io.timeout,
                        ssl=self._ssl,
                    ) as resp:
                        self.limiter.answered(grant, time.monotonic(), measured=authenticated)
                        status = resp.status
                        resp_headers = resp.headers
                        links = links_of(resp)
                        body = await io.read(resp, method, url, watch)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise self._transport_error(exc, method, url, started) from None
            finally:  # no answer (failed, cancelled): the server may have counted it until now
                self.limiter.answered(grant, time.monotonic(), measured=False)
            elapsed = time.monotonic() - started
            size = len(body)
            self.stats.bytes_received += size
            self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
            # The redacted URL is built only when something shows it: most responses don't.
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %d (%d bytes, %.3f s)", method, redact_url(url), status, size, elapsed
                )
            if self.config.on_event is not None:
                shown = redact_url(url)
                self._emit(
                    TransportEvent(
                        "request", method, shown, status=status, elapsed=elapsed, bytes=size
                    )
                )

            if 200 <= status < 300:  # what the classifier says first, decided inline
                # A fan-out child decodes only shortly before its consumer needs the page
                # (``_decode_gate.py``); the connection is back in the pool by now.
                if gate is not None and not gate.is_open():
                    with self._deadlines.paused():
                        await gate.wait()
                return decode_response(
                    self._io.bodies,
                    decode,
                    method,
                    url,
                    status,
                    resp_headers,
                    body,
                    self._secrets.redact,
                    token_response=not authenticated,
                    links=links,
                )

            if isinstance(body, bytearray):  # a pooled buffer: errors keep a copy of their own
                pooled, body = body, bytes(body)
                self._io.bodies.recycle(pooled)
            outcome = self._classifier.classify(
                method,
                url,
                status,
                resp_headers,
                body,
                may_redirect=redirects < _MAX_REDIRECTS,
                may_reauthenticate=(
                    generation is not None and not replayed and self._auth.renewable
                ),
            )
            if isinstance(outcome, Redirect):
                url = outcome.target
                redirects += 1
            elif outcome is REAUTHENTICATE:
                assert generation is not None
                self._auth.invalidate(generation)
                logger.debug(
                    "%s %s -> 401; refreshing the token and replaying once",
                    method,
                    redact_url(url),
                )
                replayed = True
            else:
                assert isinstance(outcome, Failure)
                raise self._failed(outcome, method)

    def _transport_error(
        self, exc: BaseException, method: str, url: URL, started: float
    ) -> TransportError:
        """What a request that got no response raises (logged, and reported as an event)."""
        elapsed = time.monotonic() - started
        shown = redact_url(url)
        reason, advice = describe_transport_error(exc, url, self.config)
        reason = self._secrets.redact(reason)
        logger.debug("%s %s failed after %.3f s: %s", method, shown, elapsed, reason)
        self._emit(TransportEvent("request", method, shown, elapsed=elapsed, error=reason))
        return TransportError(f"{method} {shown}: {reason}. {advice}", method=method, url=shown)

    def _failed(self, failure: Failure, method: str) -> APIError:
        """The failure's error, after pausing the client for a 429."""
        error = failure.error
        if failure.pause is not None:  # a 429
            pause = failure.pause
            self.stats.rate_limited += 1
            if failure.pauses_client:  # above the cap we raise, not wait
                self.limiter.pause(pause)
                self.stats.pause_ends = max(self.stats.pause_ends, time.monotonic() + pause)
                logger.warning(
                    "%s %s -> 429; pausing every request of this client for %.2f s",
                    method,
                    error.url,
                    pause,
                )
            self._emit(TransportEvent("rate_limited", method, error.url, status=429, wait=pause))
        return error

    # --- tokens ----------------------------------------------------------------------------

    async def _fetch_token(
        self, url: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[str, float]:
        self.stats.token_requests += 1
        self._emit(TransportEvent("token", "POST", redact_url(URL(url))))
        token, lifetime = await fetch_token(self._post_token, url, form, headers)
        # Obtained tokens are secrets too: keep them out of messages and logs from now on.
        self._secrets.add_token(token)
        return token, lifetime

    async def _post_token(
        self,
        url: URL,
        form: dict[str, str],
        headers: dict[str, str],
        decode: Callable[[Body], tuple[str, float]],
    ) -> tuple[str, float]:
        response = await self._with_retries(
            "POST", url, form, headers, decode, authenticated=False
        )
        return response.value

    # --- helpers ---------------------------------------------------------------------------

    def _emit(self, event: TransportEvent) -> None:
        hook = self.config.on_event
        if hook is not None:
            try:
                hook(event)
            except Exception:  # a broken hook must not break requests
                logger.exception("on_event hook raised; ignoring")


__all__ = ["AsyncTransport", "Response"]
