"""``SendcloudClient``: Sendcloud API v2 integration exception logs, cursor-paginated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, Unpack, overload

import aiohttp
import msgspec

from ..._fanout import FanOutOptions, FanOutStream
from ..._paging import CursorPager, RecordCodec
from ..._tail import TailOptions, TailStream
from ..._time import AwareDecoder
from ...auth import Auth
from ...config import ClientConfig, ClientSettings
from ...records import RawRecord
from ...stream import AsyncStream
from .._base import BaseClient, check_page_size, path_id
from .._raw import plain_raw
from .._spec import ProviderSpec
from ._fanout import integrations_fanout
from ._integrations import IntegrationsStream
from ._models import SendcloudIntegration, SendcloudIntegrationLog
from ._pages import ARRAY, LOG_PAGES
from ._records import raw_log
from ._spec import MAX_PAGE_SIZE, SPEC

if TYPE_CHECKING:
    from .v3._client import SendcloudV3Client

_LOG_CODEC: RecordCodec[SendcloudIntegrationLog] = RecordCodec(SendcloudIntegrationLog)
_RAW_LOG_CODEC: RecordCodec[RawRecord] = RecordCodec(msgspec.Raw, raw_log)
_INTEGRATION_CODEC: RecordCodec[SendcloudIntegration] = RecordCodec(SendcloudIntegration)
_RAW_PLAIN_CODEC: RecordCodec[RawRecord] = RecordCodec(msgspec.Raw, plain_raw)
_log_decoder = AwareDecoder[SendcloudIntegrationLog](SendcloudIntegrationLog)


class SendcloudClient(BaseClient):
    """Async client for Sendcloud's Integrations API, v2 by default.

    ``auth`` is :class:`BasicAuth` (public key, secret key) or :class:`ClientCredentials`
    (OAuth2; token from ``https://account.sendcloud.com/oauth2/token`` unless ``token_url``
    is given). Use as ``async with SendcloudClient(auth) as client: ...``.

    ``api_version=3`` gives a :class:`~integration_logs_async.SendcloudV3Client` (API v3,
    typed v3 records); the default stays 2 in this release.
    """

    spec: ClassVar[ProviderSpec] = SPEC
    _versions: ClassVar[dict[int, type[SendcloudClient]]] = {}
    """The client class of each Sendcloud API version (filled as they are defined)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = vars(cls).get("spec")
        if spec is not None and spec.name == SPEC.name:  # another API version of Sendcloud
            SendcloudClient._versions.setdefault(spec.api_version, cls)

    @overload
    def __new__(
        cls,
        auth: Auth,
        *,
        api_version: Literal[2] | None = None,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        config: ClientConfig | None = None,
        **settings: Unpack[ClientSettings],
    ) -> Self: ...

    @overload
    def __new__(
        cls,
        auth: Auth,
        *,
        api_version: Literal[3],
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        config: ClientConfig | None = None,
        **settings: Unpack[ClientSettings],
    ) -> SendcloudV3Client: ...

    def __new__(cls, auth: Auth, *, api_version: int | None = None, **options: Any) -> Any:
        """The client of ``api_version`` (``SendcloudClient(auth, api_version=3)``)."""
        target: type[SendcloudClient] = cls
        if cls is SendcloudClient and api_version not in (None, SPEC.api_version):
            if api_version not in SendcloudClient._versions:
                known = " or ".join(str(v) for v in sorted({SPEC.api_version, *cls._versions}))
                raise ValueError(f"Sendcloud api_version must be {known}, not {api_version!r}")
            target = SendcloudClient._versions[api_version]
        return super().__new__(target)

    def _logs(
        self,
        path: str,
        *,
        page_size: int | None,
        max_items: int | None,
        resume_from: str | None,
    ) -> AsyncStream[SendcloudIntegrationLog]:
        check_page_size(page_size, MAX_PAGE_SIZE)
        params = {} if page_size is None else {"page_size": str(page_size)}
        pager = CursorPager(self._transport, path, params, _LOG_CODEC, LOG_PAGES)
        return self._stream(
            pager, path, _RAW_LOG_CODEC, resume_from=resume_from, max_items=max_items
        )

    def logs(
        self,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[SendcloudIntegrationLog]:
        """Every integration exception log of the account, newest first
        (``GET /integrations/logs``)."""
        return self._logs(
            "/integrations/logs", page_size=page_size, max_items=max_items, resume_from=resume_from
        )

    def integration_logs(
        self,
        integration_id: int | str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[SendcloudIntegrationLog]:
        """The logs of one integration, newest first (``GET /integrations/{id}/logs``)."""
        ident = path_id(integration_id, "integration_id")
        return self._logs(
            f"/integrations/{ident}/logs",
            page_size=page_size,
            max_items=max_items,
            resume_from=resume_from,
        )

    def tail(
        self, *, integration_id: int | str | None = None, **options: Unpack[TailOptions]
    ) -> TailStream[SendcloudIntegrationLog]:
        """New logs as they arrive (``GET /integrations/logs``, or one integration's), each
        once; never ends by itself. Options: :class:`~integration_logs_async.TailOptions`;
        guarantees: :mod:`integration_logs_async.tail`."""
        return self._tail(integration_id, options)

    def integrations(
        self,
        *,
        ordering: str | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> IntegrationsStream:
        """All shop integrations of the account (``GET /integrations``), as a stream like
        every other listing: ``async for integration in client.integrations()``, or
        ``await client.integrations().collect()`` for a list.

        Sendcloud answers with one plain array (one request). Awaiting the stream itself
        (``await client.integrations()``, for the list this method used to return) still
        works, with a :class:`DeprecationWarning`; it will be removed in a later release.
        """
        params = {"ordering": ordering} if ordering else {}
        pager = CursorPager(self._transport, "/integrations", params, _INTEGRATION_CODEC, ARRAY)
        return IntegrationsStream(
            pager,
            provider=self.spec.checkpoint_name,
            key="/integrations",
            raw_codec=_RAW_PLAIN_CODEC,
            resume_from=resume_from,
            max_items=max_items,
        )

    async def create_integration_log(
        self, integration_id: int | str, log: dict[str, Any]
    ) -> SendcloudIntegrationLog:
        """Record a log for an integration (``POST /integrations/{id}/logs``); not retried."""
        ident = path_id(integration_id, "integration_id")
        resp = await self._transport.send(
            "POST", f"/integrations/{ident}/logs", json=log, decode=_log_decoder.decode
        )
        return resp.value

    def logs_for_integrations(
        self,
        ids: Sequence[int | str] | None = None,
        *,
        page_size: int | None = None,
        **options: Unpack[FanOutOptions],
    ) -> FanOutStream[SendcloudIntegrationLog]:
        """The logs of many integrations (all when ``ids`` is None), ``concurrency`` at once.

        Records of one integration stay in order; integrations interleave. Resume with
        ``resume_from=fanout.checkpoint``. See :mod:`integration_logs_async.fanout`.
        """
        return integrations_fanout(self, ids, page_size, options)


__all__ = ["SendcloudClient"]
