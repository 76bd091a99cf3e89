"""``ElasticPathClient``: Elastic Path integrations, jobs and their logs, offset-paginated."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any, ClassVar, Unpack

import msgspec

from ..._fanout import FanOutOptions, FanOutStream, Source, StreamFactory
from ..._paging import OffsetPager, RecordCodec
from ..._tail import TailOptions, TailStream
from ...records import RawRecord
from ...stream import AsyncStream
from .._base import BaseClient, check_page_size, path_id
from .._raw import plain_raw
from .._spec import ProviderSpec, Scope
from ._models import ElasticPathIntegration, ElasticPathIntegrationLog, ElasticPathJob
from ._pages import LIST_PAGES
from ._records import raw_log
from ._spec import MAX_PAGE_SIZE, SPEC

_LOG_CODEC: RecordCodec[ElasticPathIntegrationLog] = RecordCodec(ElasticPathIntegrationLog)
_RAW_LOG_CODEC: RecordCodec[RawRecord] = RecordCodec(msgspec.Raw, raw_log)
_RAW_PLAIN_CODEC: RecordCodec[RawRecord] = RecordCodec(msgspec.Raw, plain_raw)


class ElasticPathClient(BaseClient):
    """Async client for the Elastic Path Commerce Cloud Integrations API (``/v2/...``).

    ``auth`` is :class:`ClientCredentials` (token from ``{base_url}/oauth/access_token``
    unless ``token_url`` is given) or a :class:`BearerToken`. ``base_url`` is the API host
    of your region, e.g. ``https://euwest.api.elasticpath.com``.

    Listings use ``page[limit]``/``page[offset]``; ``page_size`` is ``page[limit]`` (1–100,
    default 100). Elastic Path documents a soft offset ceiling of 10,000 per listing: to read
    more, walk each job's logs (``logs_by_job``) instead of one big listing.
    """

    spec: ClassVar[ProviderSpec] = SPEC

    def _listing(
        self,
        path: str,
        codec: RecordCodec[Any],
        raw_codec: RecordCodec[RawRecord],
        *,
        page_size: int | None,
        max_items: int | None,
        resume_from: str | None,
    ) -> AsyncStream[Any]:
        check_page_size(page_size, MAX_PAGE_SIZE)
        pager = OffsetPager(
            self._transport,
            path,
            {},
            codec,
            LIST_PAGES,
            page_size or SPEC.default_page_size or MAX_PAGE_SIZE,
            self.config.prefetch_pages,
        )
        return self._stream(pager, path, raw_codec, resume_from=resume_from, max_items=max_items)

    def integrations(
        self,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[ElasticPathIntegration]:
        """All integrations of the store (``GET /v2/integrations``)."""
        return self._listing(
            "/v2/integrations",
            RecordCodec(ElasticPathIntegration),
            _RAW_PLAIN_CODEC,
            page_size=page_size,
            max_items=max_items,
            resume_from=resume_from,
        )

    def logs(
        self,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[ElasticPathIntegrationLog]:
        """Every integration log of the store, newest first (``GET /v2/integrations/logs``)."""
        return self._listing(
            "/v2/integrations/logs",
            _LOG_CODEC,
            _RAW_LOG_CODEC,
            page_size=page_size,
            max_items=max_items,
            resume_from=resume_from,
        )

    def integration_logs(
        self,
        integration_id: str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[ElasticPathIntegrationLog]:
        """The logs of one integration (``GET /v2/integrations/{id}/logs``)."""
        ident = path_id(integration_id, "integration_id")
        return self._listing(
            f"/v2/integrations/{ident}/logs",
            _LOG_CODEC,
            _RAW_LOG_CODEC,
            page_size=page_size,
            max_items=max_items,
            resume_from=resume_from,
        )

    def tail(
        self, *, integration_id: int | str | None = None, **options: Unpack[TailOptions]
    ) -> TailStream[ElasticPathIntegrationLog]:
        """New logs as they arrive (``GET /v2/integrations/logs``, or one integration's), each
        once; never ends by itself. Options: :class:`~integration_logs_async.TailOptions`;
        guarantees: :mod:`integration_logs_async.tail`."""
        return self._tail(integration_id, options)

    def jobs(
        self,
        integration_id: str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[ElasticPathJob]:
        """The jobs of one integration (``GET /v2/integrations/{id}/jobs``)."""
        ident = path_id(integration_id, "integration_id")
        return self._listing(
            f"/v2/integrations/{ident}/jobs",
            RecordCodec(ElasticPathJob),
            _RAW_PLAIN_CODEC,
            page_size=page_size,
            max_items=max_items,
            resume_from=resume_from,
        )

    def job_logs(
        self,
        integration_id: str,
        job_id: str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        resume_from: str | None = None,
    ) -> AsyncStream[ElasticPathIntegrationLog]:
        """The logs of one job (``GET /v2/integrations/{id}/jobs/{job_id}/logs``)."""
        ident = path_id(integration_id, "integration_id")
        job = path_id(job_id, "job_id")
        return self._listing(
            f"/v2/integrations/{ident}/jobs/{job}/logs",
            _LOG_CODEC,
            _RAW_LOG_CODEC,
            page_size=page_size,
            max_items=max_items,
            resume_from=resume_from,
        )

    async def _integration_ids(self, ids: list[str] | None) -> AsyncGenerator[str, None]:
        if ids is not None:
            for ident in ids:
                yield ident
            return
        async with self.integrations() as listing:  # closed at once if we stop early
            async for integration in listing:
                yield integration.id

    def logs_for_integrations(
        self,
        ids: Sequence[str] | None = None,
        *,
        page_size: int | None = None,
        **options: Unpack[FanOutOptions],
    ) -> FanOutStream[ElasticPathIntegrationLog]:
        """The logs of many integrations (all when ``ids`` is None), ``concurrency`` at once."""
        check_page_size(page_size, MAX_PAGE_SIZE)
        chosen = None if ids is None else [path_id(i, "integration id") for i in ids]

        def factory(ident: str) -> StreamFactory:
            return lambda cp: self.integration_logs(ident, page_size=page_size, resume_from=cp)

        async def sources() -> AsyncIterator[tuple[Source, StreamFactory]]:
            async with aclosing(self._integration_ids(chosen)) as idents:
                async for ident in idents:
                    yield Source(f"integration {ident}", integration_id=ident), factory(ident)

        return FanOutStream(
            f"{self.spec.checkpoint_name}:logs_for_integrations",
            sources,
            listing="listing the integrations",
            **options,
        )

    def logs_by_job(
        self,
        integration_id: str | Sequence[str] | None = None,
        *,
        page_size: int | None = None,
        **options: Unpack[FanOutOptions],
    ) -> FanOutStream[ElasticPathIntegrationLog]:
        """Every job's logs: jobs are listed first, then each job's logs, ``concurrency`` at once.

        Over one integration (or a list of them), or all when ``integration_id`` is None.
        Because each job's listing is short, this is how to read more than Elastic Path's
        documented 10,000-record offset ceiling of a single listing.
        """
        check_page_size(page_size, MAX_PAGE_SIZE)
        if integration_id is None:
            chosen = None
        elif isinstance(integration_id, str):
            chosen = [path_id(integration_id, "integration_id")]
        else:
            chosen = [path_id(i, "integration id") for i in integration_id]

        def factory(ident: str, job: str) -> StreamFactory:
            return lambda cp: self.job_logs(ident, job, page_size=page_size, resume_from=cp)

        async def sources() -> AsyncIterator[tuple[Source, StreamFactory]]:
            async with aclosing(self._integration_ids(chosen)) as idents:
                async for ident in idents:
                    async with self.jobs(ident) as jobs:
                        async for job in jobs:
                            label = f"integration {ident} job {job.id}"
                            source = Source(label, integration_id=ident, job_id=job.id)
                            yield source, factory(ident, job.id)

        return FanOutStream(
            f"{self.spec.checkpoint_name}:logs_by_job",
            sources,
            listing="listing the integrations and their jobs",
            **options,
        )

    def _logs_in_own_scope(
        self,
        scope: Scope,
        integration_ids: Sequence[Any] | None,
        page_size: int | None,
        options: FanOutOptions,
    ) -> FanOutStream[Any]:
        """``jobs``: :meth:`logs_by_job`."""
        if scope != "jobs":
            return super()._logs_in_own_scope(scope, integration_ids, page_size, options)
        return self.logs_by_job(integration_ids, page_size=page_size, **options)


__all__ = ["ElasticPathClient"]
