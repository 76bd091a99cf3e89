"""Sendcloud v3 records in the shared schemas: logs as NormalizedLog, integrations as summaries."""

from __future__ import annotations

from ...._time import AwareDecoder
from ....records import NormalizedLog, RawRecord
from ..._spec import IntegrationSummary
from .._normalize import normalized
from ._models import SendcloudV3Integration, SendcloudV3IntegrationLog

_log = AwareDecoder[SendcloudV3IntegrationLog](SendcloudV3IntegrationLog)


def normalize(record: RawRecord) -> NormalizedLog:
    """One v3 log in the provider-neutral schema: the same columns as a v2 log's."""
    return normalized(_log.decode(record.raw), record)


def summarize_integration(item: SendcloudV3Integration) -> IntegrationSummary:
    """Name: the shop's name (else its URL); type: the shop system; status: failing or ok."""
    if item.started_failing_at is not None:
        status = "failing since " + item.started_failing_at.isoformat()
    else:
        status = "ok"
    return IntegrationSummary(item.id, item.shop_name or item.shop_url, item.type, status)


__all__ = ["normalize", "summarize_integration"]
