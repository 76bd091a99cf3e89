"""An exact set of record ids whose memory stays small at millions of records.

Integer ids (Sendcloud) and UUIDs (Elastic Path) are stored exactly as 64-bit and 128-bit
keys in open-addressing tables of ``array('Q')`` (8 or 16 bytes a slot), instead of ~100
bytes a Python ``str`` in a ``set``. Any other id shape falls back to a plain set. There is
no hashing of ids into fewer bits, so no false "duplicate" can ever drop a record.
"""

from __future__ import annotations

from array import array

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_HEX = frozenset("0123456789abcdefABCDEF")


class _Table:
    """Open addressing with linear probing over ``words`` 64-bit words a key; 0 = empty."""

    def __init__(self, words: int, capacity: int = 1 << 10) -> None:
        self._words = words
        self._cap = capacity
        self._slots = array("Q", bytes(8 * words * capacity))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, key: tuple[int, ...]) -> bool:
        """Insert ``key`` (non-zero words); True if it was not there."""
        if (self._size + 1) * 10 > self._cap * 6:
            self._grow()
        return self._insert(key)

    def _insert(self, key: tuple[int, ...]) -> bool:
        words, slots, mask = self._words, self._slots, self._cap - 1
        mix = 0
        for word in key:
            mix ^= word
        i = ((mix * _GOLDEN) & _MASK64) >> 20 & mask
        while True:
            base = i * words
            if words == 1:
                current = slots[base]
                if current == 0:
                    slots[base] = key[0]
                    self._size += 1
                    return True
                if current == key[0]:
                    return False
            else:
                hi, lo = slots[base], slots[base + 1]
                if hi == 0 and lo == 0:
                    slots[base], slots[base + 1] = key[0], key[1]
                    self._size += 1
                    return True
                if hi == key[0] and lo == key[1]:
                    return False
            i = (i + 1) & mask

    def _grow(self) -> None:
        old, words = self._slots, self._words
        self._cap *= 2
        self._slots = array("Q", bytes(8 * words * self._cap))
        self._size = 0
        for base in range(0, len(old), words):
            key = tuple(old[base : base + words])
            if any(key):
                self._insert(key)


class IdSet:
    """Exact membership of record ids (strings) with compact storage."""

    def __init__(self) -> None:
        self._ints = _Table(1)
        self._uuids = _Table(2)
        self._other: set[str] = set()

    def __len__(self) -> int:
        return len(self._ints) + len(self._uuids) + len(self._other)

    def add(self, ident: str) -> bool:
        """Remember ``ident``; True if it is new."""
        if ident.isdigit() and len(ident) < 20 and (len(ident) == 1 or ident[0] != "0"):
            value = int(ident) + 1  # +1 keeps 0 free as the empty marker
            if value <= _MASK64:
                return self._ints.add((value,))
        elif len(ident) == 36 and ident[8] == ident[13] == ident[18] == ident[23] == "-":
            digits = ident.replace("-", "")
            if _HEX.issuperset(digits) and digits == digits.lower():
                value = int(digits, 16)
                if value:
                    return self._uuids.add((value >> 64, value & _MASK64))
        if ident in self._other:
            return False
        self._other.add(ident)
        return True
