"""Exact sets of keys on disk: a private temporary SQLite database (the id set's cold tier).

``sqlite3.connect("")`` opens a temporary database: SQLite keeps it in its page cache until
that overflows, then writes it to a file it creates in ``SQLITE_TMPDIR``, else ``TMPDIR``,
else ``/var/tmp``, ``/usr/tmp`` or ``/tmp`` (the first writable directory; SQLite reads the
variables once, when the process imports ``sqlite3``), and unlinks at once: the file never
has a name another process can see, and its space is freed when the connection closes or the
process dies, even by ``kill -9``. No journal, no fsync: nothing in it outlives the process.

Each kind of key has a table ``(gen, key)`` without rowids: a B-tree ordered by generation,
then key. A batch goes into the newest generation, which is closed after
``generation_size`` keys: inserts only touch that generation's pages, which stay in the page
cache, instead of pages all over the file. A lookup seeks once per generation; lookups are
rare (the caller asks a Bloom filter first). The hashes of each batch are kept too, as one
blob a batch, to rebuild that Bloom filter without reading and rehashing every key.
"""

from __future__ import annotations

import sqlite3
from array import array
from enum import IntEnum


class Kind(IntEnum):
    """The shapes of key, one table each.

    The integer kinds are stored as big-endian blobs: 8 bytes for INT (0 .. 2**64-1), 16 for
    UUID (0 .. 2**128-1).
    """

    INT = 0
    UUID = 1
    TEXT = 2

    @property
    def width(self) -> int:
        """Bytes of a stored key; 0 for text."""
        return (8, 16, 0)[self]

    def encode(self, key: int | str) -> bytes | str:
        """``key`` as stored."""
        return key if isinstance(key, str) else key.to_bytes(self.width, "big")


_TABLES = ("ints", "uuids", "texts")
# A batch of fixed-width keys in one blob: row n of ``numbers`` picks key n. No Python call
# per key.
_INSERT_FIXED = (
    "INSERT INTO {table} (gen, key) "
    "SELECT ?1, substr(?2, n * {width} + 1, {width}) FROM numbers WHERE n < ?3"
)
# One seek per generation 0 .. ?1 (CROSS JOIN keeps the generations as the outer loop).
_CONTAINS = (
    "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < ?1) "
    "SELECT 1 FROM g CROSS JOIN {table} AS t ON t.gen = g.n AND t.key = ?2 LIMIT 1"
)


class SpillStore:
    """Sets of keys of each :class:`Kind` in a temporary SQLite database, in batches.

    Blocking; usable from any thread, one at a time.
    """

    def __init__(self, *, cache_kib: int, generation_size: int) -> None:
        if cache_kib < 1 or generation_size < 1:
            raise ValueError("cache_kib and generation_size must be at least 1")
        self._generation_size = generation_size
        self._gen = [0] * len(Kind)  # the generation each kind inserts into
        self._filled = [0] * len(Kind)  # keys in it so far
        self._numbers = 0  # rows of the numbers table
        self.batches = 0  # stored so far, numbered from 0
        # isolation_level=None: no implicit transactions; check_same_thread=False: the harvest
        # fills the set in an executor thread on resume, then uses it from the event loop.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        try:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{cache_kib}"):
                self._db.execute(f"PRAGMA {pragma}")
            for kind in Kind:
                self._db.execute(
                    f"CREATE TABLE {_TABLES[kind]} (gen INTEGER NOT NULL, key "
                    f"{'TEXT' if kind is Kind.TEXT else 'BLOB'} NOT NULL, PRIMARY KEY (gen, key)) "
                    "WITHOUT ROWID"
                )
            self._db.execute("CREATE TABLE numbers (n INTEGER PRIMARY KEY)")
            self._db.execute("CREATE TABLE batches (batch INTEGER PRIMARY KEY, hashes BLOB)")
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Release the database (and its disk space). Idempotent."""
        self._db.close()

    def insert(self, kind: Kind, keys: bytes | list[str], hashes: array[int]) -> None:
        """Store a batch of keys of ``kind``, none of them stored already, and their hashes.

        ``keys``: for TEXT the strings, else ``kind.width`` bytes each.
        """
        if self._filled[kind] >= self._generation_size:
            self._gen[kind] += 1
            self._filled[kind] = 0
        gen, table = self._gen[kind], _TABLES[kind]
        self._db.execute("BEGIN")
        if isinstance(keys, bytes):
            count = len(keys) // kind.width
            self._grow_numbers(count)
            self._db.execute(
                _INSERT_FIXED.format(table=table, width=kind.width), (gen, keys, count)
            )
        else:
            self._db.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(gen, k) for k in keys])
        self._db.execute("INSERT INTO batches VALUES (?, ?)", (self.batches, hashes.tobytes()))
        self._db.execute("COMMIT")
        self._filled[kind] += len(hashes)  # one hash a key
        self.batches += 1

    def _grow_numbers(self, count: int) -> None:
        if count > self._numbers:
            self._db.execute(
                "WITH RECURSIVE i(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?2) "
                "INSERT INTO numbers SELECT n FROM i",
                (self._numbers, count),
            )
            self._numbers = count

    def contains(self, kind: Kind, key: int | str) -> bool:
        """Whether ``key`` of ``kind`` is stored."""
        sql = _CONTAINS.format(table=_TABLES[kind])
        return self._db.execute(sql, (self._gen[kind], kind.encode(key))).fetchone() is not None

    def hashes(self, batch: int) -> array[int]:
        """The hashes stored with batch number ``batch`` (0 .. :attr:`batches`-1)."""
        row = self._db.execute("SELECT hashes FROM batches WHERE batch = ?", (batch,)).fetchone()
        hashes = array("Q")
        hashes.frombytes(row[0])
        return hashes
