"""``SendcloudV3Client``: Sendcloud API v3 integration exception logs, paged by ``Link``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Unpack

import msgspec

from ...._fanout import FanOutOptions, FanOutStream
from ...._paging import CursorPager, RecordCodec
from ...._tail import TailOptions, TailStream
from ...._time import AwareDecoder
from ....records import RawRecord
from ....stream import AsyncStream
from ..._base import check_page_size, path_id
from ..._raw import plain_raw
from ..._spec import ProviderSpec
from .._client import SendcloudClient
from .._fanout import integrations_fanout
from .._records import raw_log
from ._models import DataItem, SendcloudV3Integration, SendcloudV3IntegrationLog
from ._pages import DATA_PAGES
from ._spec import MAX_PAGE_SIZE, SPEC

_LOG_CODEC: RecordCodec[SendcloudV3IntegrationLog] = RecordCodec(SendcloudV3IntegrationLog)
_RAW_LOG_CODEC: RecordCodec[RawRecord] = RecordCodec(msgspec.Raw, raw_log)  # v2's keys
_INTEGRATION_CODEC: RecordCodec[SendcloudV3Integration] = RecordCodec(SendcloudV3Integration)
_RAW_PLAIN_CODEC: RecordCodec[RawRecord] = RecordCodec(msgspec.Raw, plain_raw)
_created = AwareDecoder[DataItem[SendcloudV3IntegrationLog]](DataItem[SendcloudV3IntegrationLog])


class SendcloudV3Client(SendcloudClient):
    """Async client for Sendcloud's API v3 integrations and their exception logs.

    ``SendcloudClient(auth, api_version=3)`` makes one too. The same account, credentials
    (:class:`BasicAuth` or :class:`ClientCredentials`) and rate limit as v2; base URL
    ``https://panel.sendcloud.sc/api/v3``. Listings follow the ``Link`` header's
    ``rel="next"``; checkpoints name v3, so a v2 checkpoint is refused here.

    Its listings yield v3 records (:class:`SendcloudV3IntegrationLog`,
    :class:`SendcloudV3Integration`): the methods keep v2's names with v3's types (hence the
    ``override`` type ignores below: a v3 client is not a drop-in for code typed against v2
    records).
    """

    spec: ClassVar[ProviderSpec] = SPEC

    def _logs(  # type: ignore[override]
        self,
        path: str,
        *,
        page_size: int | None,
        max_items: int | None,
        resume_from: str | None,
    ) -> AsyncStream[SendcloudV3IntegrationLog]:
        check_page_size(page_size, MAX_PAGE_SIZE)
        params = {"page_size": str(page_size or SPEC.default_page_size or MAX_PAGE_SIZE)}
        pager = CursorPager(self._transport, path, params, _LOG_CODEC, DATA_PAGES)
        return self._stream(
            pager, path, _RAW_LOG_CODEC, resume_from=resume_from, max_items=max_items
        )

    def logs(  # type: ignore[override]
        self,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[SendcloudV3IntegrationLog]:
        """Every integration exception log of the account (``GET /integrations/logs``);
        ``page_size`` 1-100, default 100."""
        return self._logs(
            "/integrations/logs", page_size=page_size, max_items=max_items, resume_from=resume_from
        )

    def integration_logs(  # type: ignore[override]
        self,
        integration_id: int | str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[SendcloudV3IntegrationLog]:
        """The logs of one integration (``GET /integrations/{id}/logs``; an unknown id is a
        :class:`~integration_logs_async.NotFoundError`)."""
        ident = path_id(integration_id, "integration_id")
        return self._logs(
            f"/integrations/{ident}/logs",
            page_size=page_size,
            max_items=max_items,
            resume_from=resume_from,
        )

    def tail(  # type: ignore[override]
        self, *, integration_id: int | str | None = None, **options: Unpack[TailOptions]
    ) -> TailStream[SendcloudV3IntegrationLog]:
        """New v3 logs as they arrive, each once; never ends by itself (see
        :meth:`SendcloudClient.tail`)."""
        return self._tail(integration_id, options)

    def integrations(  # type: ignore[override]
        self,
        *,
        sort: str | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[SendcloudV3Integration]:
        """All shop integrations of the account (``GET /integrations``; ``sort`` as Sendcloud
        documents it, e.g. ``"-last_fetch"``)."""
        params = {"sort": sort} if sort else {}
        pager = CursorPager(
            self._transport, "/integrations", params, _INTEGRATION_CODEC, DATA_PAGES
        )
        return self._stream(
            pager, "/integrations", _RAW_PLAIN_CODEC, resume_from=resume_from, max_items=max_items
        )

    async def create_integration_log(  # type: ignore[override]
        self, integration_id: int | str, log: dict[str, Any]
    ) -> SendcloudV3IntegrationLog:
        """Record a log for an integration (``POST /integrations/{id}/logs``); not retried."""
        ident = path_id(integration_id, "integration_id")
        resp = await self._transport.send(
            "POST", f"/integrations/{ident}/logs", json=log, decode=_created.decode
        )
        return resp.value.data

    def logs_for_integrations(  # type: ignore[override]
        self,
        ids: Sequence[int | str] | None = None,
        *,
        page_size: int | None = None,
        **options: Unpack[FanOutOptions],
    ) -> FanOutStream[SendcloudV3IntegrationLog]:
        """The logs of many integrations (all when ``ids`` is None), ``concurrency`` at once."""
        return integrations_fanout(self, ids, page_size, options)


__all__ = ["SendcloudV3Client"]
