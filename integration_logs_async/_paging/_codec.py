"""How a listing's items become records: the item type to decode and a converter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RecordCodec(Generic[T]):
    """The decoded item type (a msgspec type) and an optional converter applied to each
    decoded item (e.g. ``msgspec.Raw`` to a :class:`~integration_logs_async.RawRecord`)."""

    item_type: Any
    convert: Callable[[Any], T] | None = None

    def converter(self) -> Callable[[list[Any]], list[T]]:
        """Items of a decoded page to records (the identity when there is no converter)."""
        convert = self.convert
        if convert is None:
            return lambda items: items
        return lambda items: [convert(x) for x in items]


def record_id(item: Any) -> str:
    """The provider id of a typed record or a raw record, as a string."""
    return str(item.id)


def index_of(items: Sequence[Any], anchor: str) -> int | None:
    """The index of the record whose id is ``anchor`` in ``items``, or None."""
    for i, item in enumerate(items):
        if record_id(item) == anchor:
            return i
    return None


__all__ = ["RecordCodec", "index_of", "record_id"]
