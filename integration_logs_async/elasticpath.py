"""Elastic Path Commerce Cloud client: integrations, jobs and their logs, offset-paginated."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from . import _constants as C
from ._client import BaseClient, check_page_size, path_id
from ._pagination import OffsetPager
from ._tokens import TokenEndpoint
from .auth import Auth, ClientCredentials
from .models.elasticpath import ElasticPathIntegration, ElasticPathIntegrationLog, ElasticPathJob
from .records import RawRecord, RecordCodec, elasticpath_raw, plain_raw
from .stream import AsyncStream

_LOG_CODEC: RecordCodec[ElasticPathIntegrationLog] = RecordCodec(ElasticPathIntegrationLog)
_RAW_LOG_CODEC: RecordCodec[RawRecord] = RecordCodec(msgspec.Raw, elasticpath_raw)
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

    provider: ClassVar[str] = "elasticpath"
    default_base_url: ClassVar[str] = C.ELASTICPATH_BASE_URL
    default_rate_limit: ClassVar[float] = C.ELASTICPATH_RATE_LIMIT

    def _token_endpoint(self, auth: Auth) -> TokenEndpoint:
        url = auth.token_url if isinstance(auth, ClientCredentials) and auth.token_url else None
        return TokenEndpoint(
            url=url or self.base_url + C.ELASTICPATH_TOKEN_PATH, credentials_in="form"
        )

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
        check_page_size(page_size, C.ELASTICPATH_MAX_PAGE_SIZE)
        pager = OffsetPager(
            self._transport,
            path,
            {},
            codec,
            page_size or C.ELASTICPATH_DEFAULT_PAGE_SIZE,
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
