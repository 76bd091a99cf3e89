"""An exact set of record ids whose memory stays bounded at any number of records.

Exact: :meth:`IdSet.add` answers like ``ident not in s; s.add(ident)`` on a set of strings.
No new id is ever taken for a duplicate (that would drop a record), no duplicate is missed.
Everything approximate (hashes, the Bloom filter) only decides where to look, never the answer.

Integer ids (Sendcloud) and UUIDs (Elastic Path) are kept as 64-bit and 128-bit integers, any
other id as its string. Only canonical spellings take the integer paths (ASCII decimal without
leading zeros below 2**64; lowercase hyphenated UUIDs), so each key stands for exactly one
string: "007", "١٢" (Arabic-Indic digits, which ``int()`` reads as 12) or an uppercase UUID
are other strings than "7", "12" or the lowercase UUID, and are kept as strings.

Two tiers:

* hot, in memory: the newest ``hot_capacity`` ids of each kind, in fixed-size hash tables
  (keys packed in ``array('Q')``, 8 or 16 bytes each, indexed by open addressing) or a set
  of strings;
* cold, on disk: when a hot table is full, its keys move in one transaction to a private
  temporary SQLite database (:mod:`._spill`). Its file is in ``SQLITE_TMPDIR``, else
  ``TMPDIR``, else ``/var/tmp`` or ``/tmp`` (as the process had them when it imported
  ``sqlite3``), and is unlinked as soon as it is created: the space is freed when the set is
  closed or the process ends, even by ``kill -9``. In front of it,
  an in-memory Bloom filter of the cold ids' hashes (:mod:`._bloom`) says "certainly not
  there" for all but ~0.4% of new ids, so SQLite is read only for those and for duplicates.
  It starts sized for ``bloom_capacity`` ids (2 bytes each), and once outgrown is rebuilt at
  twice the size from the hashes stored on disk, a few batches at each flush: no pause.

Memory: the hot tables, the SQLite page cache and the Bloom filter, bounded whatever the
number of ids; a flush blocks its caller (the harvest's event loop) briefly. Measured sizes
and pauses: ``benchmarks/README.md``, "Harvest id set".
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
from itertools import islice
from types import TracebackType
from typing import ClassVar, Protocol, Self, TypeVar

from .. import _constants as C
from ._bloom import BloomFilter
from ._spill import Kind, SpillStore

_MASK64 = (1 << 64) - 1
_HEX = frozenset("0123456789abcdef")


def _big_endian(words: array[int]) -> bytes:
    """The bytes of ``words``, each big-endian (the stored form of keys); swaps in place."""
    if sys.byteorder == "little":
        words.byteswap()
    return words.tobytes()


K = TypeVar("K", int, str)
K_contra = TypeVar("K_contra", int, str, contravariant=True)


class _Hot(Protocol[K_contra]):
    """A fixed-capacity in-memory set of keys of one kind, with the hashes of its keys."""

    kind: ClassVar[Kind]

    def find(self, key: K_contra, h: int, /) -> int:
        """Where ``key`` (hash ``h``) would go, or -1 if it is here."""
        ...

    def put(self, slot: int, key: K_contra, h: int, /) -> bool:
        """Store ``key`` where :meth:`find` said; True once the table is full."""
        ...

    def drain(self) -> tuple[bytes | list[str], array[int]]:
        """The keys as :meth:`SpillStore.insert` takes them and their hashes; then empty."""
        ...


class _HotWords:
    """An insertion-ordered set of integer keys stored as 64-bit words, of fixed capacity.

    The keys are appended to a compact ``array('Q')``, which a flush writes to disk as one
    blob, and indexed by open addressing with linear probing: slots of 32-bit positions
    (1-based; 0 marks a free slot), never more than half full. Subclasses lay keys out in
    words (one or two per key) and compare them.
    """

    __slots__ = ("_capacity", "_hashes", "_index", "_keys", "_mask", "_shift")

    def __init__(self, capacity: int) -> None:
        bits = (2 * capacity - 1).bit_length()
        self._capacity, self._mask, self._shift = capacity, (1 << bits) - 1, 64 - bits
        self._index = array("I", bytes(4 << bits))
        self._keys = array("Q")
        self._hashes = array("Q")  # of the keys, in the same order

    def __len__(self) -> int:
        return len(self._hashes)

    def _drained(self, blob: bytes) -> tuple[bytes, array[int]]:
        """``blob`` (the keys) and the hashes; the table is empty afterwards."""
        drained = blob, self._hashes
        self._index = array("I", bytes(len(self._index) * self._index.itemsize))
        self._keys, self._hashes = array("Q"), array("Q")
        return drained


class _Hot64(_HotWords):
    """64-bit keys, one word each."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.INT

    def find(self, key: int, h: int) -> int:
        """The free slot for ``key`` (hash ``h``), or -1 if it is here."""
        index, keys, mask = self._index, self._keys, self._mask
        i = h >> self._shift  # the top bits of the hash
        while True:
            position = index[i]
            if not position:
                return i
            if keys[position - 1] == key:
                return -1
            i = (i + 1) & mask

    def put(self, slot: int, key: int, h: int) -> bool:
        """Store ``key`` (hash ``h``) in the free ``slot``; True once full."""
        self._keys.append(key)
        self._hashes.append(h)
        count = len(self._hashes)
        self._index[slot] = count
        return count >= self._capacity

    def drain(self) -> tuple[bytes, array[int]]:
        """The keys as 8-byte big-endian blobs, and their hashes; then empty.

        Sorted: successive integer ids then append to the end of the on-disk B-tree.
        """
        return self._drained(_big_endian(array("Q", sorted(self._keys))))


class _Hot128(_HotWords):
    """128-bit keys, each two words of the array: high, then low."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.UUID

    def find(self, key: int, h: int) -> int:
        """The free slot for ``key`` (hash ``h``), or -1 if it is here."""
        hi, lo = key >> 64, key & _MASK64
        index, keys, mask = self._index, self._keys, self._mask
        i = h >> self._shift
        while True:
            position = index[i]
            if not position:
                return i
            if keys[2 * position - 1] == lo and keys[2 * position - 2] == hi:
                return -1
            i = (i + 1) & mask

    def put(self, slot: int, key: int, h: int) -> bool:
        """Store ``key`` (hash ``h``) in the free ``slot``; True once full."""
        self._keys.append(key >> 64)
        self._keys.append(key & _MASK64)
        self._hashes.append(h)
        count = len(self._hashes)
        self._index[slot] = count
        return count >= self._capacity

    def drain(self) -> tuple[bytes, array[int]]:
        """The keys as 16-byte big-endian blobs, and their hashes; then empty.

        Not sorted: random UUIDs would gain nothing from it.
        """
        return self._drained(_big_endian(self._keys))


class _HotText:
    """Ids of any other shape: a plain set of strings."""

    __slots__ = ("_capacity", "_hashes", "_keys")
    kind: ClassVar[Kind] = Kind.TEXT

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys: set[str] = set()
        self._hashes = array("Q")

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, key: str, h: int) -> int:
        """0 if ``key`` is not here (a set needs no slot), else -1."""
        return -1 if key in self._keys else 0

    def put(self, slot: int, key: str, h: int) -> bool:
        """Store ``key`` (hash ``h``); True once full."""
        self._keys.add(key)
        self._hashes.append(h)
        return len(self._keys) >= self._capacity

    def drain(self) -> tuple[list[str], array[int]]:
        """The strings and their hashes; then empty."""
        drained = list(self._keys), self._hashes
        self._keys = set()
        self._hashes = array("Q")
        return drained


class _ColdTier:
    """Keys moved out of memory: exact in a :class:`SpillStore`, behind a Bloom filter.

    Once the store holds the keys the filter was sized for, a filter twice the size is built
    alongside, without a pause: each later :meth:`add` also streams the stored hashes of two
    earlier batches into it, as well as its own. With batches of equal size, the new filter
    is complete, and replaces the old one, before the store has grown by half.
    """

    def __init__(
        self, *, bloom_capacity: int, bits_per_key: int, cache_kib: int, generation_size: int
    ) -> None:
        self._bloom = BloomFilter(bloom_capacity, bits_per_key)
        self._next: BloomFilter | None = None  # the larger filter being built
        self._unstreamed: Iterator[int] = iter(())  # batches whose hashes _next still lacks
        self._bits_per_key = bits_per_key
        self._store = SpillStore(cache_kib=cache_kib, generation_size=generation_size)
        self.size = 0

    @property
    def bloom_bytes(self) -> int:
        """Memory of the Bloom filter(s)."""
        return self._bloom.nbytes + (self._next.nbytes if self._next else 0)

    def close(self) -> None:
        """Release the store. Idempotent."""
        self._store.close()

    def contains(self, kind: Kind, key: int | str, h: int) -> bool:
        """Whether ``key`` of ``kind`` (hash ``h``) is stored."""
        return self._bloom.might_contain(h) and self._store.contains(kind, key)

    def add(self, kind: Kind, keys: bytes | list[str], hashes: array[int]) -> None:
        """Store a batch: ``keys`` as :meth:`SpillStore.insert` takes them, none stored yet."""
        self._store.insert(kind, keys, hashes)
        self.size += len(hashes)
        self._bloom.update(hashes)
        if self._next is None and self.size >= self._bloom.capacity:
            self._next = BloomFilter(2 * self._bloom.capacity, self._bits_per_key)
            self._unstreamed = iter(range(self._store.batches - 1))  # this one is added below
        if self._next is not None:
            self._next.update(hashes)
            batches = list(islice(self._unstreamed, 2))
            for batch in batches:
                self._next.update(self._store.hashes(batch))
            if len(batches) < 2:  # every stored hash is in _next
                self._bloom, self._next = self._next, None


class IdSet:
    """Exact membership of record ids (strings) in bounded memory; spills to a temporary file.

    Blocking (a flush to disk every ``hot_capacity`` new ids of a kind); usable from any
    thread, one at a time. :meth:`close` it (or use it as a context manager) to release the
    file; :func:`len` stays valid after that.
    """

    def __init__(
        self,
        *,
        hot_capacity: int = C.IDSET_HOT_CAPACITY,
        bloom_capacity: int = C.IDSET_BLOOM_CAPACITY,
        bloom_bits_per_key: int = C.IDSET_BLOOM_BITS_PER_KEY,
        sqlite_cache_kib: int = C.IDSET_SQLITE_CACHE_KIB,
        generation_size: int = C.IDSET_GENERATION_SIZE,
    ) -> None:
        if hot_capacity < 1:
            raise ValueError("hot_capacity must be at least 1")
        self._ints = _Hot64(hot_capacity)
        self._uuids = _Hot128(hot_capacity)
        self._texts = _HotText(hot_capacity)
        self._cold = _ColdTier(
            bloom_capacity=bloom_capacity,
            bits_per_key=bloom_bits_per_key,
            cache_kib=sqlite_cache_kib,
            generation_size=generation_size,
        )
        self._size = 0
        self._closed = False

    def __len__(self) -> int:
        return self._size

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the temporary database; :meth:`add` raises afterwards. Idempotent."""
        self._closed = True
        self._cold.close()

    def add(self, ident: str) -> bool:
        """Remember ``ident``; True if it is new."""
        if self._closed:
            raise ValueError("the id set is closed")
        # The hash of every kind is Python's string hash (SipHash, seeded per process, like
        # everything that holds it): a function of the key, as each key has one spelling.
        size = len(ident)
        if size == 36:
            if ident[8] == ident[13] == ident[18] == ident[23] == "-":
                digits = ident.replace("-", "")
                if len(digits) == 32 and _HEX.issuperset(digits):
                    return self._add(self._uuids, int(digits, 16), hash(ident) & _MASK64)
        elif (
            size < 20  # at most 19 digits: below 2**64
            and ident.isascii()
            and ident.isdigit()
            and (size == 1 or ident[0] != "0")
        ):
            return self._add(self._ints, int(ident), hash(ident) & _MASK64)
        return self._add(self._texts, ident, hash(ident) & _MASK64)

    def _add(self, hot: _Hot[K], key: K, h: int) -> bool:
        slot = hot.find(key, h)
        if slot < 0 or self._cold.contains(hot.kind, key, h):
            return False
        self._size += 1
        if hot.put(slot, key, h):
            try:
                self._cold.add(hot.kind, *hot.drain())
            except BaseException:
                self.close()  # the drained keys may not all be stored: never answer again
                raise
        return True
