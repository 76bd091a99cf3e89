"""What every provider client shares: settings, transport ownership, context management."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self, Unpack

import aiohttp

from .. import _constants as C
from .._client_checks import check_count
from .._fanout import FanOutOptions, FanOutStream, Source, StreamFactory
from .._http import AsyncTransport
from .._paging import Pager, RecordCodec
from .._tail import LogFilter, TailListing, TailOptions, TailStream, typed_decoder
from ..auth import Auth, BasicAuth, BearerToken, ClientCredentials
from ..config import ClientConfig, ClientSettings
from ..events import TransportStats
from ..records import RawRecord
from ..stream import AsyncStream
from ._spec import ProviderSpec, Scope

_UNSAFE_ID_CHARS = frozenset("/?#%\\ \t\r\n")


def path_id(value: int | str, what: str) -> str:
    """``value`` as a path segment; ``ValueError`` if it is empty or could alter the path."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} must be a string or integer, got {type(value).__name__}")
    text = str(value)
    if not text or text in (".", "..") or any(ch in _UNSAFE_ID_CHARS for ch in text):
        raise ValueError(
            f"{what} {text!r} is not a valid id (empty, or has '/', '?', '#', '%' or spaces)"
        )
    return text


def check_page_size(page_size: int | None, maximum: int) -> None:
    """``ValueError`` unless ``page_size`` is None or an integer in 1..maximum."""
    if page_size is not None:
        check_count("page_size", page_size, minimum=1, maximum=maximum)


class BaseClient(abc.ABC):
    """Common machinery of the provider clients (e.g. ``SendcloudClient``)."""

    spec: ClassVar[ProviderSpec]
    """The provider's defaults, environment variables and hooks."""
    provider: ClassVar[str]
    """``spec.name``: how checkpoints and harvests name the provider."""
    default_base_url: ClassVar[str]
    """``spec.base_url``."""
    default_rate_limit: ClassVar[float]
    """``spec.rate_limit``: requests per second when ``rate_limit`` is not set."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = vars(cls).get("spec")
        if spec is not None:  # a provider's client (or one that overrides its spec)
            cls.provider = spec.name
            cls.default_base_url = spec.base_url
            cls.default_rate_limit = spec.rate_limit

    def __init__(
        self,
        auth: Auth,
        *,
        api_version: int | None = None,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        config: ClientConfig | None = None,
        **settings: Unpack[ClientSettings],
    ) -> None:
        """``api_version``: None, or this client's (``spec.api_version``); a provider with
        several versions picks the class of the one asked for (e.g. ``SendcloudClient``)."""
        if api_version is not None and (
            type(api_version) is not int or api_version != self.spec.api_version
        ):
            raise ValueError(
                f"{type(self).__name__} speaks {self.spec.title} API v{self.spec.api_version}, "
                f"not {api_version!r}"
            )
        if not isinstance(auth, BasicAuth | BearerToken | ClientCredentials):
            raise TypeError(
                "auth must be BasicAuth, BearerToken or ClientCredentials, "
                f"not {type(auth).__name__}"
            )
        self.config = (config or ClientConfig()).with_settings(settings)
        if base_url is not None and not isinstance(base_url, str):
            raise ValueError(f"base_url must be a string URL, got {type(base_url).__name__}")
        spec = self.spec
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self._auth = auth
        token_url = auth.token_url if isinstance(auth, ClientCredentials) else None
        self._transport = AsyncTransport(
            base_url=self.base_url,
            auth=auth,
            token_endpoint=spec.token.endpoint(self.base_url, token_url),
            config=self.config,
            default_rate_limit=self.default_rate_limit,
            parse_errors=spec.parse_errors,
            session=session,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, auth={self._auth!r})"

    @property
    def stats(self) -> TransportStats:
        """Counters: requests, retries, 429s, token requests, bytes."""
        return self._transport.stats

    async def aclose(self) -> None:
        """Close the HTTP session if the client created it. Idempotent."""
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @abc.abstractmethod
    def logs(
        self,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[Any]:
        """Every integration log of the account, newest first."""

    @abc.abstractmethod
    def integration_logs(
        self,
        integration_id: Any,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[Any]:
        """The logs of one integration, newest first."""

    def tail(
        self, *, integration_id: int | str | None = None, **options: Unpack[TailOptions]
    ) -> TailStream[Any]:
        """New logs as they arrive, each once, oldest first within a poll; never ends by itself.

        Follows the account's listing of every log, or one integration's listing when
        ``integration_id`` is given. Options (:class:`~integration_logs_async.TailOptions`):
        ``since``, ``resume_from``, ``poll_interval``, ``lookback``, ``page_size`` and the
        client-side filters ``failed_only``, ``status``, ``integration_ids``. See
        :mod:`integration_logs_async.tail` for the guarantees.
        """
        return self._tail(integration_id, options)

    def _tail(self, integration_id: int | str | None, options: TailOptions) -> TailStream[Any]:
        page_size = options.get("page_size")
        check_page_size(page_size, self.spec.max_page_size)
        log_filter = LogFilter.of(
            failed_only=options.get("failed_only", False),
            status=options.get("status", ()),
            integration_ids=options.get("integration_ids", ()),
        )

        def typed() -> AsyncStream[Any]:
            if integration_id is None:
                return self.logs(page_size=page_size)
            return self.integration_logs(integration_id, page_size=page_size)

        def walk() -> AsyncStream[RawRecord]:
            return typed().with_prefetch(0).raw()  # a poll reads no page it does not need

        first = typed()  # checks integration_id now, and names the listing and its type
        spec = self.spec
        listing = TailListing(
            provider=spec.checkpoint_name,
            key=first.key,
            where=f"{spec.title} {first.key}",
            open=walk,
            decode=typed_decoder(first._item_type),
            normalize=spec.normalize,
        )
        return TailStream(
            listing,
            since=options.get("since"),
            resume_from=options.get("resume_from"),
            poll_interval=options.get("poll_interval", C.TAIL_POLL_INTERVAL),
            lookback=options.get("lookback", C.TAIL_LOOKBACK),
            log_filter=log_filter,
        )

    @abc.abstractmethod
    def logs_for_integrations(
        self,
        ids: Sequence[Any] | None = None,
        *,
        page_size: int | None = None,
        **options: Unpack[FanOutOptions],
    ) -> FanOutStream[Any]:
        """The logs of many integrations (all when ``ids`` is None), ``concurrency`` at once."""

    @abc.abstractmethod
    def integrations(self, *, max_items: int | None = None) -> AsyncStream[Any]:
        """Every integration of the account or store."""

    def logs_in_scope(
        self,
        scope: Scope,
        integration_ids: Sequence[Any] | None = None,
        *,
        page_size: int | None = None,
        **options: Unpack[FanOutOptions],
    ) -> FanOutStream[Any]:
        """The logs a harvest of ``scope`` reads, as one fan-out.

        ``"all"``: the one listing of every log (no ``integration_ids``); ``"integrations"``:
        one listing per integration (:meth:`logs_for_integrations`); other scopes are the
        provider's own (see ``spec.harvest_scopes``).
        """
        self.spec.check_scope(scope)
        if scope == "integrations":
            return self.logs_for_integrations(integration_ids, page_size=page_size, **options)
        if scope != "all":
            return self._logs_in_own_scope(scope, integration_ids, page_size, options)
        if integration_ids:
            raise ValueError("scope 'all' reads every log: it takes no integration ids")

        async def one_listing() -> AsyncIterator[tuple[Source, StreamFactory]]:
            yield Source("all"), lambda cp: self.logs(page_size=page_size, resume_from=cp)

        options["concurrency"] = 1
        # one listing: let it fetch pages ahead as a plain stream does
        options["child_prefetch"] = True
        return FanOutStream(f"{self.spec.checkpoint_name}:all", one_listing, **options)

    def _logs_in_own_scope(
        self,
        scope: Scope,
        integration_ids: Sequence[Any] | None,
        page_size: int | None,
        options: FanOutOptions,
    ) -> FanOutStream[Any]:
        """A scope of this provider's own (``spec.harvest_scopes`` beyond all and integrations)."""
        raise ValueError(f"{self.spec.title} has no {scope} scope")

    def _stream(
        self,
        pager: Pager[Any],
        key: str,
        raw_codec: RecordCodec[RawRecord],
        *,
        resume_from: str | None,
        max_items: int | None,
    ) -> AsyncStream[Any]:
        return AsyncStream(
            pager,
            provider=self.spec.checkpoint_name,
            key=key,
            raw_codec=raw_codec,
            resume_from=resume_from,
            max_items=max_items,
        )


__all__ = ["BaseClient", "check_page_size", "path_id"]
