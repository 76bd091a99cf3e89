"""Timestamps: aware by type, with UTC assumed for a provider's timestamp without an offset.

Log timestamps are declared :data:`AwareDatetime` (``msgspec.Meta(tz=True)``): decoding
checks the offset in C, at no cost per record. Both providers document offsets (``Z``,
``+01:00``), but a timestamp sent without one must not make a page undecodable, so the
client decodes through :class:`AwareDecoder`: a page the strict decoder rejects for a
missing offset is decoded again, untyped, every datetime-typed value without an offset is
given UTC, and the result is converted to the same type. Values of other types are never
touched, even strings that look like timestamps (a webhook payload's own ``created_at``).

(Not in the structs' ``__post_init__``: that is a Python call per decoded record.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeAlias, TypeVar

import msgspec
import msgspec.inspect as mi

T = TypeVar("T")

AwareDatetime: TypeAlias = Annotated[datetime, msgspec.Meta(tz=True)]
"""A ``datetime`` that must carry its UTC offset."""

_NO_OFFSET = "with a timezone component"  # in msgspec's message for a naive value


def aware(value: datetime) -> datetime:
    """``value`` with UTC assumed when the provider sent no offset."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class AwareDecoder(Generic[T]):
    """``msgspec.json.Decoder(type)`` that takes a timestamp without an offset as UTC."""

    __slots__ = ("_info", "_strict", "type")

    def __init__(self, type: Any) -> None:
        self.type = type
        self._strict: msgspec.json.Decoder[T] = msgspec.json.Decoder(type)
        self._info = mi.type_info(type)

    def decode(self, body: bytes | bytearray | memoryview) -> T:
        """Decode ``body``; raises ``msgspec.DecodeError``/``ValidationError`` as msgspec does."""
        try:
            return self._strict.decode(body)
        except msgspec.ValidationError as exc:
            if _NO_OFFSET not in str(exc):
                raise
        document = msgspec.json.decode(body)
        value: T = msgspec.convert(_assume_utc(document, self._info), self.type)
        return value


def _assume_utc(value: Any, info: mi.Type) -> Any:
    """``value`` (untyped JSON) with datetime-typed strings without an offset made UTC."""
    if isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.DateTimeType):
        if isinstance(value, str):
            try:
                return aware(msgspec.convert(value, datetime))
            except msgspec.ValidationError:
                return value  # not a timestamp: the conversion reports it, with its path
        return value
    if isinstance(info, mi.UnionType):
        for member in info.types:
            if _matches(value, member):
                return _assume_utc(value, member)
        return value
    if not _has_datetime(info):
        return value
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        for field in info.fields:
            if field.encode_name in value:
                value[field.encode_name] = _assume_utc(value[field.encode_name], field.type)
    elif isinstance(info, mi.ListType) and isinstance(value, list):
        return [_assume_utc(item, info.item_type) for item in value]
    elif isinstance(info, mi.DictType) and isinstance(value, dict):
        return {key: _assume_utc(item, info.value_type) for key, item in value.items()}
    return value


def _matches(value: Any, info: mi.Type) -> bool:
    """Whether a union member of kind ``info`` is the one an untyped ``value`` goes to."""
    if isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(value, dict):
        return isinstance(info, mi.StructType | mi.DictType)
    if isinstance(value, list):
        return isinstance(info, mi.ListType)
    if isinstance(value, str):
        return isinstance(info, mi.DateTimeType)
    return False


_HAS_DATETIME: dict[Any, bool] = {}


def _has_datetime(info: mi.Type) -> bool:
    """Whether a value of type ``info`` can hold a datetime (so is worth walking)."""
    if isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.DateTimeType):
        return True
    if isinstance(info, mi.UnionType):
        return any(_has_datetime(t) for t in info.types)
    if isinstance(info, mi.ListType):
        return _has_datetime(info.item_type)
    if isinstance(info, mi.DictType):
        return _has_datetime(info.value_type)
    if isinstance(info, mi.StructType):
        known = _HAS_DATETIME.get(info.cls)
        if known is None:
            _HAS_DATETIME[info.cls] = False  # a struct that contains itself
            known = _HAS_DATETIME[info.cls] = any(_has_datetime(f.type) for f in info.fields)
        return known
    return False
