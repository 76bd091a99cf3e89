"""Harvested logs in the provider-neutral schema (``--format normalized``).

Each provider maps its own logs (its spec's ``normalize``); what the record does not say
about its owners comes from the fan-out child it was read from.
"""

from __future__ import annotations

from ..fanout import Source
from ..providers import Normalizer
from ..records import NormalizedLog, RawRecord


def normalize(normalizer: Normalizer, record: RawRecord, source: Source) -> NormalizedLog:
    """``record`` normalised, its integration and job filled in from ``source`` if missing."""
    log = normalizer(record)
    log.integration_id = log.integration_id or source.integration_id
    log.job_id = log.job_id or source.job_id
    return log


__all__ = ["normalize"]
