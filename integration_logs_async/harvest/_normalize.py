"""One provider-neutral schema for logs of both providers (``--format normalized``)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ..fanout import Source
from ..models._time import AwareDecoder
from ..models.elasticpath import ElasticPathIntegrationLog
from ..models.sendcloud import SendcloudIntegrationLog
from ..records import RawRecord


class NormalizedLog(msgspec.Struct, kw_only=True):
    """A failed (or attempted) delivery between a platform and an external system."""

    provider: str
    id: str
    integration_id: str | None
    job_id: str | None
    created_at: datetime | None
    succeeded: bool | None
    status_code: int | None
    method: str | None
    url: str | None
    error: str | None
    attempt: int | None


_sendcloud = AwareDecoder[SendcloudIntegrationLog](SendcloudIntegrationLog)
_elasticpath = AwareDecoder[ElasticPathIntegrationLog](ElasticPathIntegrationLog)


def normalize(provider: str, record: RawRecord, source: Source) -> NormalizedLog:
    """Map one raw record to :class:`NormalizedLog`."""
    if provider == "sendcloud":
        sc = _sendcloud.decode(record.raw)
        return NormalizedLog(
            provider=provider,
            id=str(sc.id),
            integration_id=record.integration_id or source.integration_id,
            job_id=None,
            created_at=sc.created_at,
            succeeded=False,  # Sendcloud only logs failures
            status_code=sc.response_code,
            method=sc.method,
            url=sc.full_url or sc.base_url,
            error=sc.exception or sc.exception_type,
            attempt=None,
        )
    ep = _elasticpath.decode(record.raw)
    return NormalizedLog(
        provider=provider,
        id=ep.id,
        integration_id=ep.integration_id or source.integration_id,
        job_id=ep.job_id or source.job_id,
        created_at=ep.created_at,
        succeeded=ep.succeeded,
        status_code=ep.status_code,
        method=None,
        url=None,
        error=ep.error_detail,
        attempt=ep.attempt,
    )
