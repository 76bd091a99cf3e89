"""Lossless records for harvesting: the server's exact bytes plus the keys we need.

``stream.raw()`` yields :class:`RawRecord` instead of typed structs. ``raw`` is the record's
JSON exactly as the server sent it (unknown fields included), so a harvester can write it
out byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

from .models._time import AwareDecoder, aware
from .models.elasticpath import LogRelationships, ResourceMeta

T = TypeVar("T")


class RawRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A record as raw JSON bytes, with its id, time and owners decoded."""

    raw: bytes
    id: str
    created_at: datetime | None = None
    integration_id: str | None = None
    job_id: str | None = None


class _SendcloudKeys(msgspec.Struct, gc=False):  # fields in the documented key order
    id: int | str
    integration_id: int | str | None = None
    created_at: datetime | None = None


class _ElasticPathKeys(msgspec.Struct, gc=False):
    id: str
    relationships: LogRelationships | None = None
    meta: ResourceMeta | None = None


class _PlainKeys(msgspec.Struct, gc=False):
    id: int | str


_sendcloud_keys = msgspec.json.Decoder(_SendcloudKeys)
_elasticpath_keys = AwareDecoder[_ElasticPathKeys](_ElasticPathKeys)
_plain_keys = msgspec.json.Decoder(_PlainKeys)


def _utf8_bytes(raw: msgspec.Raw) -> bytes:
    """A copy of one record's bytes, checked to be UTF-8.

    JSON is UTF-8 (RFC 8259). msgspec validates every string it decodes, but it hands out a
    ``Raw`` value's bytes unchecked, and these are what a harvest writes out. (ASCII, the
    usual case, is valid UTF-8 and far cheaper to confirm than a full decode.)
    """
    data = bytes(raw)
    if not data.isascii():
        data.decode("utf-8")  # UnicodeDecodeError: the page fails to decode
    return data


def sendcloud_raw(raw: msgspec.Raw) -> RawRecord:
    """A :class:`RawRecord` from one Sendcloud log's bytes."""
    data = _utf8_bytes(raw)
    k = _sendcloud_keys.decode(data)
    return RawRecord(
        raw=data,
        id=str(k.id),
        created_at=None if k.created_at is None else aware(k.created_at),
        integration_id=None if k.integration_id is None else str(k.integration_id),
    )


def elasticpath_raw(raw: msgspec.Raw) -> RawRecord:
    """A :class:`RawRecord` from one Elastic Path log's bytes."""
    data = _utf8_bytes(raw)
    k = _elasticpath_keys.decode(data)
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


def plain_raw(raw: msgspec.Raw) -> RawRecord:
    """A :class:`RawRecord` of any object with an ``id``."""
    data = _utf8_bytes(raw)
    return RawRecord(raw=data, id=str(_plain_keys.decode(data).id))


@dataclass(frozen=True, slots=True)
class RecordCodec(Generic[T]):
    """How a stream turns page items into records: the decoded item type and a converter."""

    item_type: Any
    convert: Callable[[Any], T] | None = None


def record_id(item: Any) -> str:
    """The provider id of a typed record or :class:`RawRecord` as a string."""
    return str(item.id)
