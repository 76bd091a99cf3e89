"""The harvest's id set: exact like a set of strings, and small."""

from __future__ import annotations

import random
import uuid

from integration_logs_async.harvest._idset import IdSet


def test_exact_like_a_set_of_strings():
    rng = random.Random(8)
    pool = (
        [str(rng.randrange(1, 10**12)) for _ in range(3000)]
        + [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3000)]
        + ["0", "1", "9" * 19, str(2**64 - 1), str(2**64), "1" * 25, "007", "7", "-7", "+7"]
        + ["12", "١٢", "²", "１２", "", " 12", "12 ", "1_2"]  # other scripts' digits, spaces
        + ["00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000001"]
        + ["aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaa-", "-aaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"]
        + ["aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", "AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA"]
        + ["aaaaaaaa-aaaa-aaaa-aaaa-aaaa_aaaaaaa", "aaaaaaaa-aaaa-aaaa-aaaa- aaaaaaaaaaa"]
    )
    ids, reference = IdSet(), set()
    for ident in pool + rng.choices(pool, k=20_000):  # every id again, many times
        assert ids.add(ident) == (ident not in reference), ident
        reference.add(ident)
    assert len(ids) == len(reference) == len(set(pool))


def test_tables_grow_and_stay_exact():
    ids = IdSet()
    numbers = [str(n) for n in range(1, 50_001)]
    uuids = [str(uuid.UUID(int=n << 64 | n)) for n in range(1, 30_001)]  # adversarial: hi == lo
    assert all(ids.add(x) for x in numbers + uuids)
    assert not any(ids.add(x) for x in numbers + uuids)
    assert len(ids) == 80_000


def _bytes_per_id(ids: list[str]) -> float:
    seen = IdSet()
    for ident in ids:
        seen.add(ident)
    assert len(seen) == len(ids) and not seen._other  # all took a compact path
    tables = (seen._ints._slots, seen._uuids._slots)
    return sum(t.itemsize * len(t) for t in tables) / len(ids)


def test_memory_per_id_is_small():
    """8 or 16 bytes a slot at a load of 0.3-0.6: a million ids cost ~17 or ~34 MB."""
    rng = random.Random(3)
    n = 100_000
    uuids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]
    ints = [str(1_000_000 + 7 * i) for i in range(n)]
    assert _bytes_per_id(uuids) < 56  # a set of str costs ~130
    assert _bytes_per_id(ints) < 28
