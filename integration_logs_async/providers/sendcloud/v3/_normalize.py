"""Sendcloud v3 records in the shared schemas: logs as NormalizedLog, integrations as summaries."""

from __future__ import annotations

from ...._time import AwareDecoder
from ....records import NormalizedLog, RawRecord
from ..._spec import IntegrationSummary
from ._models import SendcloudV3Integration, SendcloudV3IntegrationLog

_log = AwareDecoder[SendcloudV3IntegrationLog](SendcloudV3IntegrationLog)


def normalize(record: RawRecord) -> NormalizedLog:
    """One v3 log in the provider-neutral schema: the same columns as a v2 log's."""
    sc = _log.decode(record.raw)
    return NormalizedLog(
        provider="sendcloud",
        id=str(sc.id),
        integration_id=record.integration_id,
        job_id=None,
        created_at=sc.created_at,
        succeeded=False,  # Sendcloud only logs failures
        status_code=sc.response_code,
        method=sc.method,
        url=sc.full_url or sc.base_url,
        error=sc.exception or sc.exception_type,
        attempt=None,
    )


def summarize_integration(item: SendcloudV3Integration) -> IntegrationSummary:
    """Name: the shop's name (else its URL); type: the shop system; status: failing or ok."""
    if item.started_failing_at is not None:
        status = "failing since " + item.started_failing_at.isoformat()
    else:
        status = "ok"
    return IntegrationSummary(item.id, item.shop_name or item.shop_url, item.type, status)


__all__ = ["normalize", "summarize_integration"]
