"""The async HTTP transport: one aiohttp session, auth, retries, pacing, safety checks.

Everything provider-specific arrives as data (base URL, token endpoint, default rate limit);
everything that decides (retry or not, how long to wait) lives in pure functions in
``_retry.py``. This module does the I/O.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any, Generic, TypeVar

import aiohttp
import msgspec
import tenacity
from multidict import CIMultiDictProxy
from yarl import URL

from ._body_buffers import Body, BodyBuffers
from ._constants import (
    BODY_BUFFER_MAX_BYTES,
    ERROR_EXCERPT_CHARS,
    EXPLICIT_RATE_LIMIT_MARGIN,
    LOGGER_NAME,
)
from ._deadlines import DeadlineClock
from ._decode_gate import DecodeGate
from ._ratelimit import AsyncRateLimiter
from ._read_timeout import ReadWatch
from ._redact import REDACTED, redact_text, redact_url
from ._retry import RetryWait, is_retryable_error, parse_retry_after
from ._socket_reads import CappedReadsConnector
from ._tokens import Authenticator, TokenEndpoint, make_authenticator, parse_token_response
from ._transport_errors import describe_transport_error, note_gave_up
from .auth import Auth
from .config import ClientConfig
from .errors import (
    APIError,
    DecodeError,
    IntegrationLogsError,
    RateLimitError,
    ResponseTooLargeError,
    TransportError,
    UnsafeURLError,
    error_class_for,
    excerpt,
    parse_error_body,
)
from .events import TransportEvent, TransportStats

T = TypeVar("T")
logger = logging.getLogger(LOGGER_NAME)

_MAX_REDIRECTS = 3
_DECODE_FAILURES = (msgspec.MsgspecError, ValueError, TypeError, RecursionError, OverflowError)
# Set on an error that already went through its own retries (a failed token request), so the
# request that was waiting for the token does not retry it again (max_attempts**2 requests).
_RETRIES_SPENT = "_integration_logs_retries_spent"
# Token values in a token response that failed to decode: kept out of the error's excerpt.
_TOKEN_VALUE = re.compile(rb'("(?:access|refresh|id)_token"\s*:\s*")[^"]*')
_TOKENS_REMEMBERED = 2  # obtained tokens redacted from messages (current and previous)


class Response(msgspec.Struct, Generic[T]):
    """A decoded 2xx answer (a struct: built in C, once per request)."""

    status: int
    request_url: URL
    headers: CIMultiDictProxy[str]
    value: T
    nbytes: int

    @property
    def url(self) -> str:
        """The request's URL, redacted (built when asked: most responses never need it)."""
        return redact_url(self.request_url)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host is None:
        return False
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin_of(url: URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in."""
    return (url.scheme.lower(), (url.host or "").lower(), url.port)


_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.IGNORECASE)
_USERINFO = re.compile(r"(?<=//)[^/@]*@")


def _valid_host(host: str) -> bool:
    """An IP address, or a DNS name of non-empty labels of letters, digits, '-' and '_'."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host  # a fully qualified "api.test."
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(x) for x in name.split("."))


def check_base_url(raw: str, *, allow_insecure_http: bool, what: str = "base_url") -> URL:
    """Validate a configured URL: absolute http(s), and https unless loopback or opted in."""
    example = "like 'https://api.example.com'"
    if not isinstance(raw, str):
        raise ValueError(f"{what} must be a string {example}, got {type(raw).__name__}")
    shown = _USERINFO.sub("", raw)  # never echo a password, even from a URL that does not parse
    if raw != raw.strip() or any(ch.isspace() or not ch.isprintable() for ch in raw):
        raise ValueError(
            f"{what} {shown!r} contains whitespace or control characters (e.g. a trailing "
            f"newline from a file or environment variable); pass the bare URL, {example}"
        )
    try:
        url = URL(raw)
        port = url.explicit_port  # yarl parses host and port lazily
        host = url.raw_host
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} {shown!r} is not a valid URL: {exc}") from None
    if host and not _valid_host(host):
        raise ValueError(
            f"{what} {shown!r} has an invalid host name {host!r}: use a DNS name (letters, "
            f"digits, '-', dots between non-empty labels) or an IP address, {example}"
        )
    if port == 0:
        raise ValueError(f"{what} {shown!r} has port 0; ports go from 1 to 65535")
    if url.user is not None or url.password is not None:
        raise ValueError(
            f"{what} {redact_url(url)!r} must not carry credentials (user:password@); "
            "pass them as auth= instead"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"{what} must be an absolute http(s) URL like 'https://api.example.com', "
            f"got {redact_url(url)!r}"
        )
    if url.query_string or url.fragment:
        raise ValueError(f"{what} must not carry a query or fragment, got {redact_url(url)!r}")
    if url.scheme == "http" and not is_loopback(url.host) and not allow_insecure_http:
        raise ValueError(
            f"{what} {raw!r} uses plain http to a non-loopback host; credentials would travel "
            "unencrypted. Use https, or pass allow_insecure_http=True if you really mean it."
        )
    return url


class AsyncTransport:
    """Sends requests for one client. Owns (or borrows) an ``aiohttp.ClientSession``."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        token_endpoint: TokenEndpoint,
        config: ClientConfig,
        default_rate_limit: float,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.config = config
        self.base_url = check_base_url(base_url, allow_insecure_http=config.allow_insecure_http)
        self._origin = origin_of(self.base_url)
        # An absolute URL starting with this is on the configured origin, with no userinfo:
        # the authority ends at the first "/" (``resolve()``'s fast path for next links).
        self._origin_prefix = str(self.base_url.origin()) + "/"
        check_base_url(
            token_endpoint.url, allow_insecure_http=config.allow_insecure_http, what="token_url"
        )
        self._static_secrets = tuple(s for s in auth.secrets() if s)
        self._secrets = self._static_secrets
        self._auth: Authenticator = make_authenticator(
            auth, token_endpoint, self._fetch_token, refresh_margin=config.token_refresh_margin
        )
        rate = default_rate_limit if config.rate_limit is None else config.rate_limit
        margin = 0.0 if config.rate_limit is None else EXPLICIT_RATE_LIMIT_MARGIN
        self.limiter = AsyncRateLimiter(
            rate or None, burst=config.rate_limit_burst, headroom=margin
        )
        self.stats = TransportStats()
        self._session = session
        self._owns_session = session is None
        self._closed = False
        # ``sock_connect``, not ``connect``: the latter also bounds the wait for a free pooled
        # connection (not a network problem; the request deadline bounds it) and arms a timer
        # for every request, even one that reuses a connection.
        # ``read_timeout``: on the session the client creates, enforced on the shared deadline
        # clock (``_read_timeout.py``), not by aiohttp's per-read timer; a session you pass
        # keeps aiohttp's ``sock_read``.
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=config.connect_timeout,
            sock_read=None if self._owns_session else config.read_timeout,
        )
        self._ssl: bool = config.verify_ssl
        # Receive buffers for bodies of known length, one per connection at most, for the
        # session the client creates (why: ``_body_buffers.py``).
        self._bodies = BodyBuffers(keep=config.max_connections, max_bytes=BODY_BUFFER_MAX_BYTES)
        # Every request's deadline (retries included), on one shared timer (``_deadlines.py``).
        self._deadlines = DeadlineClock()

    # --- lifecycle -------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this client is closed; create a new one")
        if self._session is None:
            connector = CappedReadsConnector(
                limit=self.config.max_connections, ttl_dns_cache=300, ssl=self._ssl
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                headers={"User-Agent": self.config.user_agent},
                # These APIs authenticate every request and set no cookies we need; a real jar
                # would store whatever a server sets and filter it on every request.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def aclose(self) -> None:
        """Close the session if this transport created it. Idempotent."""
        self._closed = True
        self._deadlines.close()
        await self._auth.aclose()  # a token request in flight would outlive the client
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    # --- public entry points -----------------------------------------------------------------

    def resolve(self, path_or_url: str) -> URL:
        """An absolute URL for a path under ``base_url``, or a checked absolute URL."""
        if path_or_url.startswith(self._origin_prefix):
            return URL(path_or_url, encoded=True)
        if path_or_url.startswith(("http://", "https://")):
            url = self._parse_url(path_or_url, context="URL")
            self.check_origin(url, context="URL")
            return url
        base = str(self.base_url).rstrip("/")
        return URL(base + "/" + path_or_url.lstrip("/"), encoded=False)

    def check_origin(self, url: URL, *, context: str) -> None:
        """Raise :class:`UnsafeURLError` unless ``url`` is on the configured origin.

        A URL carrying its own ``user:password@`` is refused too: only the configured
        credentials are ever sent (aiohttp would otherwise send those, or refuse to combine
        them with ours).
        """
        try:
            origin = origin_of(url) if url.is_absolute() else None
        except ValueError as exc:  # e.g. a port out of range, noticed only when read
            shown = f"{url.scheme}://(invalid host or port)"
            raise self._invalid_url(shown, context, exc) from None
        if origin != self._origin:
            raise UnsafeURLError(
                redact_url(url), expected_origin=str(self.base_url.origin()), context=context
            )
        if url.raw_user is not None or url.raw_password is not None:
            raise UnsafeURLError(
                redact_url(url),
                expected_origin=str(self.base_url.origin()),
                context=context,
                reason="it carries credentials of its own (user:password@); only the "
                "configured credentials are sent, to the configured origin.",
            )

    def _parse_url(self, raw: str, *, context: str) -> URL:
        """A URL the server sent (``next`` link, ``Location``), or :class:`UnsafeURLError`."""
        try:
            url = URL(raw, encoded=True)
            origin_of(url)  # yarl parses host and port lazily: make it fail here
        except (TypeError, ValueError) as exc:
            raise self._invalid_url(raw, context, exc) from None
        return url

    def join_link(self, current: URL, link: str, *, context: str = "next link") -> URL:
        """A server-sent link resolved against the URL of the page that carried it.

        Raises :class:`UnsafeURLError` when the link is not a valid URL (the origin itself is
        checked when the link is followed).
        """
        try:
            url = current.join(URL(link, encoded=True))
            origin_of(url)  # yarl parses host and port lazily: make it fail here
        except (TypeError, ValueError) as exc:
            raise self._invalid_url(link, context, exc) from None
        return url

    def _invalid_url(self, raw: str, context: str, exc: Exception) -> UnsafeURLError:
        # Without the query (it may hold a credential) and shortened: it is not parseable,
        # so redact_url() cannot be used.
        shown = self._redact(raw.split("?", 1)[0])[:120]
        return UnsafeURLError(
            shown,
            expected_origin=str(self.base_url.origin()),
            context=context,
            reason=f"it is not a valid URL ({exc}). Report this to the provider.",
        )

    async def get(
        self,
        path_or_url: str | URL,
        *,
        decode: Callable[[Body], T],
        params: Mapping[str, str | int] | None = None,
        resolved: bool = False,
        gate: DecodeGate | None = None,
    ) -> Response[T]:
        """GET with auth, pacing, retries and the overall deadline; decode the 2xx body.

        ``resolved``: ``path_or_url`` is a URL that :meth:`resolve` returned (or built from
        one without changing its origin), so its origin is not checked again.
        """
        if isinstance(path_or_url, URL):
            url = path_or_url
            if not resolved:
                self.check_origin(url, context="URL")
        else:
            url = self.resolve(path_or_url)
        if params:
            url = url.update_query({k: str(v) for k, v in params.items()})
        return await self._with_retries(
            "GET", url, None, {}, decode, authenticated=True, gate=gate
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
        url = self.resolve(path)
        data = msgspec.json.encode(json)
        headers = {"Content-Type": "application/json"}
        result: Response[T] = await self._deadline(
            method, url, self._attempt(method, url, data, headers, decode, authenticated=True)
        )
        return result

    # --- retries and deadline ----------------------------------------------------------------

    async def _deadline(self, method: str, url: URL, work: Any) -> Any:
        try:
            with self._deadlines.scope(self.config.request_deadline):
                return await work
        except TimeoutError:
            raise self._deadline_error(method, url) from None

    def _deadline_error(self, method: str, url: URL) -> TransportError:
        return TransportError(
            f"{method} {redact_url(url)}: no success within request_deadline="
            f"{self.config.request_deadline:g} s (retries included). The provider is slow "
            "or unreachable; raise request_deadline or try later.",
            method=method,
            url=redact_url(url),
        )

    def _retryable(self, exc: BaseException) -> bool:
        cfg = self.config
        if getattr(exc, _RETRIES_SPENT, False):
            return False
        if isinstance(exc, APIError) and (exc.retry_after or 0) > cfg.retry_after_cap:
            return False  # the provider asks for a longer wait than we are willing to do
        return is_retryable_error(exc, cfg.retryable_statuses, cfg.retry_decode_errors)

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
        try:
            with self._deadlines.scope(self.config.request_deadline):
                # Fast path: most requests succeed at once, and building and driving tenacity
                # costs ~60 us of CPU, about a third of decoding a 100-record page. Only after
                # a failure worth retrying does tenacity take over, replaying that failure as
                # its first attempt so waits, logging, events and counts are unchanged.
                try:
                    return await self._attempt(
                        method, url, data, headers, decode, authenticated=authenticated, gate=gate
                    )
                except Exception as exc:
                    if self.config.max_attempts <= 1 or not self._retryable(exc):
                        raise
                    failure = exc
                return await self._retry(
                    failure,
                    method,
                    url,
                    data,
                    headers,
                    decode,
                    authenticated=authenticated,
                    gate=gate,
                )
        except TimeoutError:
            raise self._deadline_error(method, url) from None

    async def _retry(
        self,
        failure: Exception,
        method: str,
        url: URL,
        data: Any,
        headers: dict[str, str],
        decode: Callable[[Body], T],
        *,
        authenticated: bool,
        gate: DecodeGate | None,
    ) -> Response[T]:
        """Attempts after the first, driven by tenacity, which sees ``failure`` as its first."""
        cfg = self.config
        replay: list[BaseException] = [failure]

        attempts = 0

        async def attempt_again(*args: Any, **kwargs: Any) -> Response[T]:
            nonlocal attempts
            attempts += 1
            if replay:
                raise replay.pop()
            return await self._attempt(*args, **kwargs)

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(cfg.max_attempts)
            | tenacity.stop_before_delay(cfg.request_deadline),
            wait=RetryWait(cfg.backoff_initial, cfg.backoff_max),
            retry=tenacity.retry_if_exception(self._retryable),
            before_sleep=self._before_retry_sleep(method, url),
            reraise=True,
        )
        try:
            result: Response[T] = await retrying(
                attempt_again,
                method,
                url,
                data,
                headers,
                decode,
                authenticated=authenticated,
                gate=gate,
            )
        except IntegrationLogsError as exc:
            if attempts >= cfg.max_attempts and self._retryable(exc):
                note_gave_up(exc, attempts)
            raise
        return result

    def _before_retry_sleep(
        self, method: str, url: URL
    ) -> Callable[[tenacity.RetryCallState], None]:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            exc = state.outcome.exception() if state.outcome else None
            self.stats.retries += 1
            self.stats.waited_seconds += wait
            reason = self._redact(str(exc)) if exc else "unknown"
            logger.info(
                "retrying %s %s in %.2f s (attempt %d/%d failed: %s)",
                method,
                redact_url(url),
                wait,
                state.attempt_number,
                self.config.max_attempts,
                reason,
            )
            self._emit(
                TransportEvent(
                    "retry",
                    method,
                    redact_url(url),
                    status=getattr(exc, "status", None),
                    attempt=state.attempt_number,
                    wait=wait,
                    error=reason,
                )
            )

        return before_sleep

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
        replayed: bool = False,
        redirects: int = 0,
    ) -> Response[T]:
        if not self.limiter.try_acquire():
            if self.limiter.paused_for > 0:
                self.stats.paused += 1
            else:
                self.stats.paced += 1
            await self.limiter.acquire()
        send_headers = {"Accept": "application/json", **headers}
        generation: int | None = None
        if authenticated:
            credential = self._auth.cached() or await self._auth.authorization()
            send_headers["Authorization"], generation = credential
        started = time.monotonic()
        self.stats.requests += 1
        watch = ReadWatch(self._deadlines, self.config.read_timeout) if self._owns_session else None
        try:
            with watch or nullcontext():
                async with self._get_session().request(
                    method,
                    url,
                    data=data,
                    headers=send_headers,
                    allow_redirects=False,
                    timeout=self._timeout,
                    ssl=self._ssl,
                ) as resp:
                    status = resp.status
                    resp_headers = resp.headers
                    body = await self._read_body(resp, method, url, watch)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            elapsed = time.monotonic() - started
            shown = redact_url(url)
            reason, advice = describe_transport_error(exc, url, self.config)
            reason = self._redact(reason)
            logger.debug("%s %s failed after %.3f s: %s", method, shown, elapsed, reason)
            self._emit(TransportEvent("request", method, shown, elapsed=elapsed, error=reason))
            raise TransportError(
                f"{method} {shown}: {reason}. {advice}", method=method, url=shown
            ) from None
        elapsed = time.monotonic() - started
        size = len(body)
        self.stats.bytes_received += size
        self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
        # The redacted URL is built only when something shows it: most responses never need it.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (%d bytes, %.3f s)", method, redact_url(url), status, size, elapsed
            )
        if self.config.on_event is not None:
            shown = redact_url(url)
            self._emit(
                TransportEvent("request", method, shown, status=status, elapsed=elapsed, bytes=size)
            )

        if 200 <= status < 300:
            # A fan-out child decodes only shortly before its consumer needs the page
            # (``_decode_gate.py``); the connection is back in the pool by now.
            if gate is not None and not gate.is_open():
                with self._deadlines.paused():
                    await gate.wait()
            try:
                # No UTF-8 pass over the body here: msgspec validates every string it decodes,
                # and raw records check their own bytes (``records.py``); what is left
                # unchecked is skipped, never handed out.
                value = self._bodies.decode(body, decode)
            except _DECODE_FAILURES as exc:
                reason = self._redact(str(exc))
                raise DecodeError(
                    method=method,
                    url=redact_url(url),
                    status=status,
                    reason=reason,
                    body=self._safe_excerpt_body(body, token_response=not authenticated),
                ) from None
            return Response(status, url, resp_headers, value, size)

        shown = redact_url(url)
        if isinstance(body, bytearray):  # a pooled buffer: errors keep a copy of their own
            pooled, body = body, bytes(body)
            self._bodies.recycle(pooled)

        if status in (301, 302, 303, 307, 308) and "Location" in resp_headers:
            location = resp_headers["Location"]
            try:
                target = url.join(URL(location))
                origin_of(target)  # parsed lazily: fail here, not in check_origin
            except (TypeError, ValueError) as exc:
                raise self._invalid_url(location, "redirect to", exc) from None
            self.check_origin(target, context="redirect to")
            if redirects >= _MAX_REDIRECTS or method != "GET":
                raise self._api_error(status, method, shown, body, resp_headers)
            return await self._attempt(
                method,
                target,
                data,
                headers,
                decode,
                authenticated=authenticated,
                gate=gate,
                replayed=replayed,
                redirects=redirects + 1,
            )

        if (
            status == 401
            and generation is not None
            and not replayed
            and self._auth.invalidate(generation)
        ):
            logger.debug("%s %s -> 401; refreshing the token and replaying once", method, shown)
            return await self._attempt(
                method,
                url,
                data,
                headers,
                decode,
                authenticated=authenticated,
                gate=gate,
                replayed=True,
                redirects=redirects,
            )
        raise self._api_error(status, method, shown, body, resp_headers)

    async def _read_body(
        self, resp: aiohttp.ClientResponse, method: str, url: URL, watch: ReadWatch | None
    ) -> bytes | bytearray:
        """The body, within ``max_response_bytes``; ``watch`` (the read timeout, on the
        session the client creates) is told of every chunk."""
        limit = self.config.max_response_bytes
        length = resp.content_length
        if length is not None and length > limit:
            raise ResponseTooLargeError(
                method=method, url=redact_url(url), status=resp.status, limit=limit
            )
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if length is not None and encoding == "identity":  # within the limit
            if watch is not None:
                return await self._bodies.read(resp.content, length, watch.progress)
            # A session you pass is used as configured: ``read()`` also feeds its tracing.
            return await resp.read()
        # Count what is read even when Content-Length is small: it is the size on the wire,
        # and a compressed body (Content-Encoding: gzip) can inflate far beyond it.
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():
            if watch is not None:
                watch.progress()
            size += len(chunk)
            if size > limit:
                raise ResponseTooLargeError(
                    method=method, url=redact_url(url), status=resp.status, limit=limit
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _api_error(
        self, status: int, method: str, shown: str, body: bytes, headers: Mapping[str, str]
    ) -> APIError:
        errors = parse_error_body(body)
        request_id = headers.get("X-Request-Id") or next(
            (e.request_id for e in errors if e.request_id), None
        )
        common: dict[str, Any] = {
            "status": status,
            "method": method,
            "url": shown,
            "errors": errors,
            "excerpt": "" if errors else self._redact(excerpt(body)),
            "request_id": request_id,
            "retry_after": parse_retry_after(headers),
        }
        if status == 429:
            retry_after = common["retry_after"]
            pause = self.config.default_429_pause if retry_after is None else retry_after
            self.stats.rate_limited += 1
            if pause <= self.config.retry_after_cap:  # above the cap we raise, not wait
                self.limiter.pause(pause)
                self.stats.pause_ends = max(self.stats.pause_ends, time.monotonic() + pause)
                logger.warning(
                    "%s %s -> 429; pausing every request of this client for %.2f s",
                    method,
                    shown,
                    pause,
                )
            self._emit(TransportEvent("rate_limited", method, shown, status=429, wait=pause))
            return RateLimitError(**common)
        return error_class_for(status)(**common)

    # --- tokens ----------------------------------------------------------------------------

    async def _fetch_token(
        self, url: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[str, float]:
        self.stats.token_requests += 1
        target = URL(url)
        self._emit(TransportEvent("token", "POST", redact_url(target)))
        try:
            response = await self._with_retries(
                "POST", target, form, headers, parse_token_response, authenticated=False
            )
        except APIError as exc:
            if exc.status == 404:  # not an id of ours: the token URL itself is wrong
                exc.hint = (
                    "The token endpoint was not found: check base_url (for Elastic Path the "
                    "token URL is derived from it) and token_url if you set one."
                )
                exc.args = (exc._message(),)
            if exc.status in (400, 401, 403):
                raise error_class_for(401)(
                    status=exc.status,
                    method=exc.method,
                    url=exc.url,
                    errors=exc.errors,
                    excerpt=exc.excerpt,
                    request_id=exc.request_id,
                ) from None
            setattr(exc, _RETRIES_SPENT, True)
            raise
        except IntegrationLogsError as exc:
            setattr(exc, _RETRIES_SPENT, True)
            raise
        token = response.value[0]
        # Obtained tokens are secrets too: keep them out of messages and logs from now on.
        tokens = [s for s in self._secrets if s not in self._static_secrets and s != token]
        self._secrets = (*self._static_secrets, *tokens[-(_TOKENS_REMEMBERED - 1) :], token)
        return response.value

    # --- helpers ---------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact_text(text, self._secrets)

    def _safe_excerpt_body(self, body: bytes | bytearray, *, token_response: bool) -> bytes:
        """The start of ``body`` with secrets (and, in token responses, tokens) masked."""
        head = bytes(body[: ERROR_EXCERPT_CHARS * 8])
        if token_response:
            head = _TOKEN_VALUE.sub(rb"\g<1>" + REDACTED.encode(), head)
        return self._redact(head.decode("utf-8", errors="replace")).encode()

    def _emit(self, event: TransportEvent) -> None:
        hook = self.config.on_event
        if hook is not None:
            try:
                hook(event)
            except Exception:  # a broken hook must not break requests
                logger.exception("on_event hook raised; ignoring")


__all__ = ["AsyncTransport", "Response", "check_base_url", "is_loopback"]
