"""Elastic Path records in the shared schemas: logs as NormalizedLog, integrations as summaries."""

from __future__ import annotations

from ..._time import AwareDecoder
from ...records import NormalizedLog, RawRecord
from .._spec import IntegrationSummary
from ._models import ElasticPathIntegration, ElasticPathIntegrationLog

_log = AwareDecoder[ElasticPathIntegrationLog](ElasticPathIntegrationLog)


def normalize(record: RawRecord) -> NormalizedLog:
    """One Elastic Path log in the provider-neutral schema."""
    ep = _log.decode(record.raw)
    return NormalizedLog(
        provider="elasticpath",
        id=ep.id,
        integration_id=ep.integration_id,
        job_id=ep.job_id,
        created_at=ep.created_at,
        succeeded=ep.succeeded,
        status_code=ep.status_code,
        method=None,
        url=None,
        error=ep.error_detail,
        attempt=ep.attempt,
    )


def summarize_integration(item: ElasticPathIntegration) -> IntegrationSummary:
    """Name: the integration's name; type: webhook, aws_sqs or stomp; status: enabled or not."""
    status = {True: "enabled", False: "disabled", None: "unknown"}[item.enabled]
    return IntegrationSummary(item.id, item.name, item.integration_type, status)


__all__ = ["normalize", "summarize_integration"]
