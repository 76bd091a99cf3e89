"""An exact set of record ids whose memory stays small at millions of records.

Integer ids (Sendcloud) and UUIDs (Elastic Path) are stored exactly as 64-bit and 128-bit
keys in open-addressing tables of ``array('Q')`` (8 or 16 bytes a slot), instead of ~100
bytes a Python ``str`` in a ``set``. Any other id shape falls back to a plain set. There is
no hashing of ids into fewer bits, so no false "duplicate" can ever drop a record.

Only canonical spellings take the compact paths (ASCII decimal without leading zeros below
2**64; lowercase hyphenated UUIDs), so each key stands for exactly one string: "007", "١٢"
(Arabic-Indic digits, which ``int()`` reads as 12) or an uppercase UUID are other strings
than "7", "12" or the lowercase UUID, and land in the plain set.
"""

from __future__ import annotations

from array import array

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # 2**64 / golden ratio: Fibonacci hashing
_HEX = frozenset("0123456789abcdef")
_INITIAL_BITS = 10


class _Table64:
    """Open addressing with linear probing over non-zero 64-bit keys; 0 marks a free slot."""

    __slots__ = ("_cap", "_limit", "_shift", "_size", "_slots")

    def __init__(self) -> None:
        self._reset(_INITIAL_BITS)

    def _reset(self, bits: int) -> None:
        capacity = 1 << bits
        self._cap = capacity
        self._shift = 64 - bits  # the slot is the top bits of key * _GOLDEN mod 2**64
        self._limit = capacity * 6 // 10  # grow beyond a load of 0.6
        self._slots = array("Q", bytes(8 * capacity))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, key: int) -> bool:
        """Insert ``key`` (1 .. 2**64-1); True if it was not there."""
        if self._size >= self._limit:
            self._grow()
        slots, mask = self._slots, self._cap - 1
        i = ((key * _GOLDEN) & _MASK64) >> self._shift
        while True:
            current = slots[i]
            if current == 0:
                slots[i] = key
                self._size += 1
                return True
            if current == key:
                return False
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._reset(64 - self._shift + 1)
        for key in old:
            if key:
                self.add(key)


class _Table128:
    """As :class:`_Table64` for 128-bit keys stored as two words (both zero: free)."""

    __slots__ = ("_cap", "_limit", "_shift", "_size", "_slots")

    def __init__(self) -> None:
        self._reset(_INITIAL_BITS)

    def _reset(self, bits: int) -> None:
        capacity = 1 << bits
        self._cap = capacity
        self._shift = 64 - bits  # the slot is the top bits of key * _GOLDEN mod 2**64
        self._limit = capacity * 6 // 10
        self._slots = array("Q", bytes(16 * capacity))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, hi: int, lo: int) -> bool:
        """Insert the key ``(hi, lo)`` (not both zero); True if it was not there."""
        if self._size >= self._limit:
            self._grow()
        slots, mask = self._slots, self._cap - 1
        # both words mixed in (hi ^ lo alone would send every key with hi == lo to slot 0)
        i = (((((hi * _GOLDEN) & _MASK64) ^ lo) * _GOLDEN) & _MASK64) >> self._shift
        while True:
            base = 2 * i
            h, low = slots[base], slots[base + 1]
            if h == 0 and low == 0:
                slots[base] = hi
                slots[base + 1] = lo
                self._size += 1
                return True
            if h == hi and low == lo:
                return False
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._reset(64 - self._shift + 1)
        words = iter(old)
        for hi, lo in zip(words, words, strict=True):
            if hi or lo:
                self.add(hi, lo)


class IdSet:
    """Exact membership of record ids (strings) with compact storage."""

    def __init__(self) -> None:
        self._ints = _Table64()
        self._uuids = _Table128()
        self._other: set[str] = set()

    def __len__(self) -> int:
        return len(self._ints) + len(self._uuids) + len(self._other)

    def add(self, ident: str) -> bool:
        """Remember ``ident``; True if it is new."""
        size = len(ident)
        if size == 36:
            if ident[8] == ident[13] == ident[18] == ident[23] == "-":
                digits = ident.replace("-", "")
                if len(digits) == 32 and _HEX.issuperset(digits):
                    value = int(digits, 16)
                    if value:
                        return self._uuids.add(value >> 64, value & _MASK64)
        elif (
            size < 20  # at most 19 digits: below 2**64 - 1, so the +1 below fits
            and ident.isascii()
            and ident.isdigit()
            and (size == 1 or ident[0] != "0")
        ):
            return self._ints.add(int(ident) + 1)  # +1 keeps 0 free as the empty marker
        if ident in self._other:
            return False
        self._other.add(ident)
        return True
