"""Pre-encoded record templates with positional ``%`` slots.

A template is a record encoded once by msgspec in which sentinel values mark
slots.  Everything after the last slot is the *tail*: static bytes shared by
every record of the template (records put their big fields, such as HTML
bodies, last).  The part before it is the *head*, a bytes ``%`` format; the
stores encode each record's head once and serve ``head + tail``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import msgspec

_SENTINEL = re.compile(rb'"@@(\w+)@@"|@@(\w+)@@')


@dataclass(frozen=True)
class Slot:
    """A slot's ``%`` format and how many values it consumes.

    With ``number`` the slot replaces a whole JSON string (quotes included) by a
    bare value, e.g. ``b"%d"``; otherwise it is spliced inside a JSON string, and
    the values must render to text that needs no JSON escaping.
    """

    fmt: bytes
    arity: int = 1
    number: bool = False


def sentinel(name: str) -> str:
    """Marker to put in a record where slot ``name`` goes."""
    return f"@@{name}@@"


class Template:
    """A compiled record: a ``%`` format head, a static tail and the value order."""

    __slots__ = ("_pick", "head", "tail")

    def __init__(self, head: bytes, tail: bytes, order: Sequence[int]) -> None:
        self.head = head
        self.tail = tail
        self._pick: Callable[[Sequence[object]], object]
        if len(order) > 1:
            self._pick = itemgetter(*order)
        else:  # itemgetter needs an index and returns a bare value for one
            self._pick = lambda values: tuple(values[k] for k in order)

    def head_of(self, values: Sequence[object]) -> bytes:
        """A record's head, slots filled from ``values`` (laid out as the slot mapping)."""
        return self.head % self._pick(values)

    def render(self, values: Sequence[object]) -> bytes:
        """A whole record: its head followed by the shared tail."""
        return self.head_of(values) + self.tail


def compile_template(record: Any, slots: Mapping[str, Slot]) -> Template:
    """Encode ``record`` and turn the sentinels of ``slots`` into positional slots.

    The values given to :meth:`Template.render` are laid out in the order of
    ``slots``, each slot taking ``arity`` consecutive values.
    """
    starts: dict[str, int] = {}
    position = 0
    for name, slot in slots.items():
        starts[name] = position
        position += slot.arity
    encoded = msgspec.json.encode(record)
    head = b""
    order: list[int] = []
    cursor = 0
    for match in _SENTINEL.finditer(encoded):
        head += encoded[cursor : match.start()].replace(b"%", b"%%")
        whole, inner = match.group(1), match.group(2)
        name = (whole or inner).decode()
        slot = slots[name]
        quoted = whole is not None and not slot.number
        head += b'"' + slot.fmt + b'"' if quoted else slot.fmt
        order.extend(range(starts[name], starts[name] + slot.arity))
        cursor = match.end()
    return Template(head, encoded[cursor:], order)
