"""Pre-encoded record templates with positional ``%`` slots.

A template is a record encoded once by msgspec in which sentinel values mark
slots.  One run of static bytes is the *tail*, shared by every record of the
template: by default everything after the last slot, or, with ``shared_from``,
the run that starts at that key (e.g. a Sendcloud log's ``response`` and
``request``, which the provider sends before ``created_at``).  The parts before
and after it are bytes ``%`` formats, the *head* and the *after*; the stores
encode each record's own parts once and serve ``head + tail + after``.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    """A compiled record: a ``%`` format head, a static shared tail, a ``%`` format after it."""

    __slots__ = ("_pick", "_pick_after", "after", "head", "tail")

    def __init__(
        self,
        head: bytes,
        tail: bytes,
        order: Sequence[int],
        after: bytes = b"",
        after_order: Sequence[int] = (),
    ) -> None:
        self.head = head
        self.tail = tail
        self.after = after
        self._pick = _picker(order)
        self._pick_after = _picker(after_order)

    def head_of(self, values: Sequence[object]) -> bytes:
        """A record's head, slots filled from ``values`` (laid out as the slot mapping)."""
        return self.head % self._pick(values)

    def after_of(self, values: Sequence[object]) -> bytes:
        """What follows the shared tail in a record (``b""`` for most templates)."""
        return self.after % self._pick_after(values) if self.after else b""

    def render(self, values: Sequence[object]) -> bytes:
        """A whole record: its head, the shared tail, and what follows it."""
        return self.head_of(values) + self.tail + self.after_of(values)


def _picker(order: Sequence[int]) -> Callable[[Sequence[object]], object]:
    if len(order) > 1:
        return itemgetter(*order)
    # itemgetter needs an index and returns a bare value for one
    return lambda values: tuple(values[k] for k in order)


def compile_template(
    record: Any, slots: Mapping[str, Slot], *, shared_from: str | None = None
) -> Template:
    """Encode ``record`` and turn the sentinels of ``slots`` into positional slots.

    The values given to :meth:`Template.render` are laid out in the order of
    ``slots``, each slot taking ``arity`` consecutive values.  The shared tail is
    what follows the last slot, or, with ``shared_from``, the static run from the
    first occurrence of that key up to the next slot.
    """
    starts: dict[str, int] = {}
    position = 0
    for name, slot in slots.items():
        starts[name] = position
        position += slot.arity
    encoded = msgspec.json.encode(record)
    matches = list(_SENTINEL.finditer(encoded))
    if shared_from is None:
        begin, end = (matches[-1].end() if matches else 0), len(encoded)
    else:
        key = b'"' + shared_from.encode() + b'":'
        begin = encoded.index(key)
        if encoded.rfind(b",", 0, begin) == begin - 1:
            begin -= 1  # the separating comma belongs to the shared part
        end = next((m.start() for m in matches if m.start() >= begin), len(encoded))
        # up to the last comma before that slot's key: the key itself stays in ``after``
        end = encoded.rindex(b",", begin, end) if end < len(encoded) else end
    head, order = _format(encoded[:begin], [m for m in matches if m.end() <= begin], slots, starts)
    after, after_order = _format(
        encoded[end:], [m for m in matches if m.start() >= end], slots, starts, offset=end
    )
    return Template(head, encoded[begin:end], order, after, after_order)


def _format(
    part: bytes,
    matches: Sequence[re.Match[bytes]],
    slots: Mapping[str, Slot],
    starts: Mapping[str, int],
    offset: int = 0,
) -> tuple[bytes, list[int]]:
    """``part`` as a bytes ``%`` format (its sentinels become slots) and its value order."""
    out = b""
    order: list[int] = []
    cursor = 0
    for match in matches:
        out += part[cursor : match.start() - offset].replace(b"%", b"%%")
        whole, inner = match.group(1), match.group(2)
        name = (whole or inner).decode()
        slot = slots[name]
        quoted = whole is not None and not slot.number
        out += b'"' + slot.fmt + b'"' if quoted else slot.fmt
        order.extend(range(starts[name], starts[name] + slot.arity))
        cursor = match.end() - offset
    return out + part[cursor:].replace(b"%", b"%%"), order


class RecordParts:
    """Each record's own bytes, ``head + after``, and where its template's shared tail goes.

    One bytes object and one offset per record (rather than two objects) keeps a
    million-record store small; serving a record slices it around the shared tail.
    """

    __slots__ = ("_cut", "_own")

    def __init__(self) -> None:
        self._own: list[bytes] = []
        self._cut = array("I")

    def __len__(self) -> int:
        return len(self._own)

    def append(self, head: bytes, after: bytes = b"") -> None:
        """Add a record: its own parts before and after the shared tail."""
        self._own.append(head + after)
        self._cut.append(len(head))

    def head(self, index: int) -> bytes:
        """The record's bytes before its shared tail."""
        return self._own[index][: self._cut[index]]

    def render(self, index: int, tail: bytes) -> bytes:
        """The whole record at ``index`` around ``tail`` (its template's shared part)."""
        own, cut = self._own[index], self._cut[index]
        return own[:cut] + tail + own[cut:]

    def join(self, positions: Iterable[int], tail_of: Callable[[int], bytes]) -> bytes:
        """The records at ``positions``, comma-separated (the inside of a JSON array)."""
        owns, cuts = self._own, self._cut
        pieces: list[bytes] = []
        for index in positions:
            own, cut = owns[index], cuts[index]
            pieces += (own[:cut], tail_of(index), own[cut:], b",")
        return b"".join(pieces[:-1])
