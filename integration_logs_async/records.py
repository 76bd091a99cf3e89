"""The two record forms a harvest writes: lossless :class:`RawRecord` and :class:`NormalizedLog`.

``stream.raw()`` yields :class:`RawRecord` instead of typed structs: ``raw`` is the record's
JSON exactly as the server sent it (unknown fields included), so a harvester can write it
out byte for byte. :class:`NormalizedLog` is one provider-neutral schema for the logs of
every provider (``--format normalized``).
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class RawRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A record as raw JSON bytes, with its id, time and owners decoded."""

    raw: bytes
    id: str
    created_at: datetime | None = None
    integration_id: str | None = None
    job_id: str | None = None


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


__all__ = ["NormalizedLog", "RawRecord"]
