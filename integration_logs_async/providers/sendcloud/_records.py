"""Sendcloud log records as :class:`~integration_logs_async.RawRecord`: the keys we decode."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ..._time import aware
from ...records import RawRecord
from .._raw import utf8_bytes


class _LogKeys(msgspec.Struct, gc=False):  # fields in the documented key order
    id: int | str
    integration_id: int | str | None = None
    created_at: datetime | None = None


_log_keys = msgspec.json.Decoder(_LogKeys)


def raw_log(raw: msgspec.Raw) -> RawRecord:
    """A :class:`RawRecord` from one Sendcloud log's bytes."""
    data = utf8_bytes(raw)
    k = _log_keys.decode(data)
    return RawRecord(
        raw=data,
        id=str(k.id),
        created_at=None if k.created_at is None else aware(k.created_at),
        integration_id=None if k.integration_id is None else str(k.integration_id),
    )


__all__ = ["raw_log"]
