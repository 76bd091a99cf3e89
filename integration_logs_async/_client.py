"""What both provider clients share: settings, transport ownership, context management."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Any, ClassVar, Self, Unpack

import aiohttp

from ._client_checks import check_count
from ._tokens import TokenEndpoint
from ._transport import AsyncTransport
from .auth import Auth, BasicAuth, BearerToken, ClientCredentials
from .config import ClientConfig, ClientSettings
from .events import TransportStats
from .records import RawRecord, RecordCodec
from .stream import AsyncStream

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
    """Common machinery; use :class:`SendcloudClient` or :class:`ElasticPathClient`."""

    provider: ClassVar[str]
    default_base_url: ClassVar[str]
    default_rate_limit: ClassVar[float]

    def __init__(
        self,
        auth: Auth,
        *,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        config: ClientConfig | None = None,
        **settings: Unpack[ClientSettings],
    ) -> None:
        if not isinstance(auth, BasicAuth | BearerToken | ClientCredentials):
            raise TypeError(
                "auth must be BasicAuth, BearerToken or ClientCredentials, "
                f"not {type(auth).__name__}"
            )
        self.config = (config or ClientConfig()).with_settings(settings)
        if base_url is not None and not isinstance(base_url, str):
            raise ValueError(f"base_url must be a string URL, got {type(base_url).__name__}")
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self._auth = auth
        self._transport = AsyncTransport(
            base_url=self.base_url,
            auth=auth,
            token_endpoint=self._token_endpoint(auth),
            config=self.config,
            default_rate_limit=self.default_rate_limit,
            session=session,
        )

    @abc.abstractmethod
    def _token_endpoint(self, auth: Auth) -> TokenEndpoint:
        """Where and how this provider's client-credentials tokens are requested."""

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

    def _stream(
        self,
        pager: Any,
        key: str,
        raw_codec: RecordCodec[RawRecord],
        *,
        resume_from: str | None,
        max_items: int | None,
    ) -> AsyncStream[Any]:
        return AsyncStream(
            pager,
            provider=self.provider,
            key=key,
            raw_codec=raw_codec,
            resume_from=resume_from,
            max_items=max_items,
        )
