"""Elastic Path log records as :class:`~integration_logs_async.RawRecord`: the keys we decode."""

from __future__ import annotations

import msgspec

from ..._time import AwareDecoder
from ...records import RawRecord
from .._raw import utf8_bytes
from ._models import LogRelationships, ResourceMeta


class _LogKeys(msgspec.Struct, gc=False):
    id: str
    relationships: LogRelationships | None = None
    meta: ResourceMeta | None = None


_log_keys = AwareDecoder[_LogKeys](_LogKeys)


def raw_log(raw: msgspec.Raw) -> RawRecord:
    """A :class:`RawRecord` from one Elastic Path log's bytes."""
    data = utf8_bytes(raw)
    k = _log_keys.decode(data)
    rel = k.relationships
    created = k.meta.timestamps.created_at if k.meta and k.meta.timestamps else None
    return RawRecord(
        raw=data,
        id=k.id,
        created_at=created,
        integration_id=rel.integration.data.id
        if rel and rel.integration and rel.integration.data
        else None,
        job_id=rel.job.data.id if rel and rel.job and rel.job.data else None,
    )


__all__ = ["raw_log"]
