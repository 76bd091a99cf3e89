"""Sendcloud records in the shared schemas: logs as NormalizedLog, integrations as summaries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._time import AwareDecoder
from ...records import NormalizedLog, RawRecord
from .._spec import IntegrationSummary
from ._models import SendcloudIntegration, SendcloudIntegrationLog

if TYPE_CHECKING:
    from .v3._models import SendcloudV3IntegrationLog

_log = AwareDecoder[SendcloudIntegrationLog](SendcloudIntegrationLog)


def normalize(record: RawRecord) -> NormalizedLog:
    """One Sendcloud log in the provider-neutral schema (Sendcloud logs only failures)."""
    return normalized(_log.decode(record.raw), record)


def normalized(
    sc: SendcloudIntegrationLog | SendcloudV3IntegrationLog, record: RawRecord
) -> NormalizedLog:
    """A decoded Sendcloud log of any API version in the provider-neutral schema."""
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


def summarize_integration(item: SendcloudIntegration) -> IntegrationSummary:
    """Name: the shop's name (else its URL); type: the shop system; status: failing or ok."""
    if item.failing_since is not None:
        status = "failing since " + item.failing_since.isoformat()
    else:
        status = "ok"
    return IntegrationSummary(item.id, item.shop_name or item.shop_url, item.system, status)


__all__ = ["normalize", "normalized", "summarize_integration"]
