"""The harvest's id set: exact like a set of strings, small in memory, nothing left on disk."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import uuid
from array import array
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async.emulator import Emulator, FaultConfig
from integration_logs_async.harvest import HarvestOptions, _run, run_harvest
from integration_logs_async.harvest import _job as job
from integration_logs_async.harvest._bloom import BloomFilter
from integration_logs_async.harvest._idset import IdSet
from integration_logs_async.harvest._spill import SpillStore

from .._support.clients import client_for, elasticpath, sendcloud

SPELLINGS = [
    *["0", "1", "9" * 19, str(2**64 - 1), str(2**64), "1" * 25, "007", "7", "-7", "+7"],
    *["12", "١٢", "²", "１２", "", " 12", "12 ", "1_2"],  # other scripts' digits, spaces
    *["00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000001"],
    *["aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaa-", "-aaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"],
    *["aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", "AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA"],
    *["aaaaaaaa-aaaa-aaaa-aaaa-aaaa_aaaaaaa", "aaaaaaaa-aaaa-aaaa-aaaa- aaaaaaaaaaa"],
]
"""Strings that look alike: each must count as itself, however it is stored."""

# Capacities small enough that a few thousand ids spill many times, rebuild the Bloom filter
# several times, and open many SQLite generations.
TINY: list[dict[str, int]] = [
    {"hot_capacity": 1, "bloom_capacity": 1, "generation_size": 3},
    {"hot_capacity": 3, "bloom_capacity": 8, "bloom_bits_per_key": 1, "generation_size": 40},
    {"hot_capacity": 16, "bloom_capacity": 64, "bloom_bits_per_key": 4, "generation_size": 100},
    {"hot_capacity": 64, "bloom_capacity": 100, "sqlite_cache_kib": 16},
]


def mixed_pool(rng: random.Random, n: int) -> list[str]:
    """``n`` ids of each shape (integer, UUID, other), plus the look-alike spellings."""
    return (
        [str(rng.randrange(1, 10**12)) for _ in range(n)]
        + [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(n)]
        + [f"log-{rng.getrandbits(40):x}" for _ in range(n)]
        + SPELLINGS
    )


def check_against_a_set(ids: IdSet, sequence: list[str]) -> None:
    reference: set[str] = set()
    for ident in sequence:
        assert ids.add(ident) == (ident not in reference), ident
        reference.add(ident)
    assert len(ids) == len(reference)


def test_exact_like_a_set_of_strings() -> None:
    rng = random.Random(8)
    pool = mixed_pool(rng, 3000)
    with IdSet() as ids:
        check_against_a_set(ids, pool + rng.choices(pool, k=20_000))  # every id again, often


def test_tables_grow_and_stay_exact() -> None:
    numbers = [str(n) for n in range(1, 50_001)]
    uuids = [str(uuid.UUID(int=n << 64 | n)) for n in range(1, 30_001)]  # adversarial: hi == lo
    with IdSet() as ids:
        assert all(ids.add(x) for x in numbers + uuids)
        assert not any(ids.add(x) for x in numbers + uuids)
        assert len(ids) == 80_000


@pytest.mark.parametrize("capacities", TINY, ids=lambda c: ",".join(map(str, c.values())))
def test_exact_across_many_spills(capacities: dict[str, int]) -> None:
    rng = random.Random(5)
    pool = mixed_pool(rng, 700)
    rng.shuffle(pool)
    sequence = []
    for i, ident in enumerate(pool):
        sequence += [ident, pool[max(0, i - 2)]]  # each id, then one added just before it
    sequence += pool[:300] + pool[-300:]  # spilled long ago, or the last few (still hot)
    sequence += rng.choices(pool, k=3000) + SPELLINGS
    with IdSet(**capacities) as ids:
        check_against_a_set(ids, sequence)
        cold = ids._cold
        assert cold.size > len(pool) * 0.8  # most of them went to disk
        assert cold._bloom.capacity > capacities["bloom_capacity"] * 4  # rebuilt, grown


def test_look_alike_spellings_stay_apart_on_disk() -> None:
    """Each spelling lands in the table of its shape, and nothing collides across tables."""
    with IdSet(hot_capacity=1) as ids:
        assert all(ids.add(x) for x in SPELLINGS)
        assert ids._cold.size == len(SPELLINGS)  # every one spilled right away
        assert not any(ids.add(x) for x in SPELLINGS)
        assert all(ids.add(x) for x in ("08", "0007", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaab"))


def test_false_positives_cost_a_lookup_never_a_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-bit-per-id Bloom filter says "maybe" often: SQLite decides, exactly."""
    answers = {True: 0, False: 0}
    contains = SpillStore.contains

    def counted(self: SpillStore, *args: Any) -> bool:
        found = contains(self, *args)
        answers[found] += 1
        return found

    monkeypatch.setattr(SpillStore, "contains", counted)
    rng = random.Random(11)
    pool = mixed_pool(rng, 2000)
    with IdSet(hot_capacity=32, bloom_capacity=16, bloom_bits_per_key=1) as ids:
        check_against_a_set(ids, pool + rng.choices(pool, k=4000))
    assert answers[False] > 500  # many false positives, each checked and refuted
    assert answers[True] > 1000  # the duplicates found on disk


def test_bloom_rebuild_is_incremental_and_complete() -> None:
    """The larger filter is filled a few batches a flush, and knows every id when it takes over."""
    rng = random.Random(2)
    hot = 8
    with IdSet(hot_capacity=hot, bloom_capacity=64) as ids:
        cold, capacity, rebuilding, switches = ids._cold, ids._cold._bloom.capacity, 0, 0
        for _ in range(6000):
            ids.add(str(uuid.UUID(int=rng.getrandbits(128))))
            rebuilding += cold._next is not None
            if cold._bloom.capacity != capacity:  # the new filter took over
                assert cold._bloom.capacity == 2 * capacity
                assert capacity <= cold.size <= 1.5 * capacity + hot  # soon, not too soon
                capacity, switches = cold._bloom.capacity, switches + 1
        assert switches >= 5
        assert rebuilding > 1000  # one rebuild spans many flushes
        for batch in range(cold._store.batches):  # no false negative: every stored hash
            assert all(map(cold._bloom.might_contain, cold._store.hashes(batch)))


def footprint(ids: IdSet) -> int:
    """Bytes of the in-memory structures: hot tables and Bloom filter(s)."""
    arrays: list[array[int]] = []
    for table in (ids._ints, ids._uuids):
        arrays += [table._index, table._keys, table._hashes]
    arrays.append(ids._texts._hashes)
    return sum(len(a) * a.itemsize for a in arrays) + ids._cold.bloom_bytes


def test_memory_stays_bounded() -> None:
    """Hot tables are fixed; the Bloom filter costs 2-6 bytes a spilled id (a set: ~130)."""
    rng = random.Random(3)
    hot, bloom = 512, 1024
    with IdSet(hot_capacity=hot, bloom_capacity=bloom) as ids:
        fixed = footprint(ids)
        assert fixed <= 2 * bloom + 2 * (8 * hot) + 4 * 2 * hot  # Bloom, index, no keys yet
        for n in range(1, 100_001):
            ids.add(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            ids.add(str(1_000_000 + 7 * n))
            if n % 5000 == 0:
                hot_bytes = footprint(ids) - ids._cold.bloom_bytes
                assert hot_bytes <= 2 * (4 * 2 * hot) + hot * (16 + 8 + 8 + 8)
                assert ids._cold.bloom_bytes <= 6 * ids._cold.size + 2 * bloom
        assert footprint(ids) / len(ids) < 8  # the old all-in-memory tables: 28-56


def test_close_is_idempotent_and_final() -> None:
    ids = IdSet(hot_capacity=4)
    for n in range(100):
        ids.add(str(n))
    ids.close()
    ids.close()
    assert len(ids) == 100  # still known after close
    with pytest.raises(ValueError, match="closed"):
        ids.add("1")
    with IdSet() as other:
        other.add("x")
    with pytest.raises(ValueError, match="closed"):
        other.add("y")


def test_a_failed_flush_closes_the_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids drained from memory but not stored must not be forgotten silently."""

    def full_disk(*args: Any) -> None:
        raise OSError("disk full")

    ids = IdSet(hot_capacity=4)
    monkeypatch.setattr(ids._cold._store, "insert", full_disk)
    for n in range(3):
        ids.add(str(n))
    with pytest.raises(OSError, match="disk full"):
        ids.add("3")
    with pytest.raises(ValueError, match="closed"):
        ids.add("0")


def test_bloom_filter_has_no_false_negatives() -> None:
    rng = random.Random(4)
    hashes = [rng.getrandbits(64) for _ in range(20_000)]
    bloom = BloomFilter(len(hashes), 16)
    bloom.update(hashes[:10_000])
    for h in hashes[10_000:15_000]:
        bloom.add(h)
    assert all(bloom.might_contain(h) for h in hashes[:15_000])
    strangers = [rng.getrandbits(64) for _ in range(20_000)]
    assert sum(map(bloom.might_contain, strangers)) < 20_000 * 0.01  # ~0.4% at 16 bits an id
    assert bloom.nbytes == 8192 * 8  # 20,000 x 16 bits, rounded up to a power of two words
    assert bloom.capacity == 32_768


SPILLER = """
import json, os, sys, time
from integration_logs_async.harvest._idset import IdSet


def temp_files():
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "etilqs_" in target:
            found.append(target)
    return found


ids = IdSet(hot_capacity=64, sqlite_cache_kib=16)  # a small cache: the database hits the disk
for n in range(20_000):
    ids.add(str(n))
print(json.dumps({"open": temp_files(), "listing": os.listdir(sys.argv[1])}), flush=True)
if sys.argv[2] == "close":
    ids.close()
    print(json.dumps({"open": temp_files()}), flush=True)
else:
    time.sleep(60)  # killed meanwhile
"""


def spill_in_subprocess(directory: Path, ending: str) -> subprocess.Popen[str]:
    # SQLite reads SQLITE_TMPDIR / TMPDIR once, when the process imports sqlite3: a fresh
    # process is the only reliable way to point it somewhere.
    env = {**os.environ, "SQLITE_TMPDIR": str(directory), "TMPDIR": str(directory)}
    return subprocess.Popen(
        [sys.executable, "-c", SPILLER, str(directory), ending],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_the_database_lives_in_tmpdir_and_never_has_a_name(tmp_path: Path) -> None:
    process = spill_in_subprocess(tmp_path, "close")
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    spilled, closed = map(json.loads, out.splitlines())
    [path] = spilled["open"]  # one temporary file, opened in the directory asked for...
    assert path.startswith(f"{tmp_path}/etilqs_") and path.endswith(" (deleted)")
    assert spilled["listing"] == []  # ...and unlinked at once: no name anyone can see
    assert closed["open"] == []  # close() releases it


def test_kill_9_leaves_no_file(tmp_path: Path) -> None:
    process = spill_in_subprocess(tmp_path, "sleep")
    assert process.stdout is not None
    spilled = json.loads(process.stdout.readline())
    assert spilled["open"]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    process.stdout.close()
    assert list(tmp_path.iterdir()) == []


# --- the harvest closes its id set, however it ends ------------------------------------------


@pytest.fixture
def id_sets(monkeypatch: pytest.MonkeyPatch) -> list[IdSet]:
    """Every id set the harvest job makes from now on."""
    made: list[IdSet] = []

    class Tracked(IdSet):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(_run, "IdSet", Tracked)
    return made


def options(out: Path, **settings: Any) -> HarvestOptions:
    return HarvestOptions(provider="elasticpath", out=str(out), page_size=10, **settings)


@pytest.mark.emulator(integrations=2, logs=120)
async def test_harvest_closes_its_id_set(
    emulator: Emulator, tmp_path: Path, id_sets: list[IdSet]
) -> None:
    out = tmp_path / "logs.jsonl"
    async with elasticpath(emulator) as client:
        await run_harvest(client, options(out, max_items=30), progress=False)  # completes
        with pytest.raises(ValueError, match="pass a ElasticPathClient"):  # build_stream
            async with sendcloud(emulator) as wrong:
                await run_harvest(wrong, options(tmp_path / "b", scope="jobs"), progress=False)
        assert [ids._closed for ids in id_sets] == [True, True]
        out.write_bytes(b"x" * out.stat().st_size)  # resuming fails while reading the ids
        with pytest.raises(ValueError, match="not a harvested record"):
            await run_harvest(client, options(out), progress=False)
    assert len(id_sets) == 3 and all(ids._closed for ids in id_sets)


@pytest.mark.emulator(
    integrations=2,
    logs=400,
    faults=FaultConfig(seed=1, rates={"latency": 1.0}, latency_seconds=0.02),
)
async def test_a_cancelled_harvest_closes_its_id_set(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[IdSet] = []
    harvesting = asyncio.Event()

    class Tracked(IdSet):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

        def add(self, ident: str) -> bool:
            harvesting.set()
            return super().add(ident)

    monkeypatch.setattr(_run, "IdSet", Tracked)
    async with client_for(emulator, "elasticpath") as client:
        task = asyncio.create_task(run_harvest(client, options(tmp_path / "o"), progress=False))
        await asyncio.wait_for(harvesting.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    [ids] = made
    assert ids._closed and len(ids) > 0


async def test_cancelled_while_setting_up_closes_the_id_set_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run is still built in its thread after the cancellation; then closed."""
    loop = asyncio.get_running_loop()
    made: list[IdSet] = []
    built, closed, release = asyncio.Event(), asyncio.Event(), threading.Event()

    class Slow(IdSet):
        def __init__(self) -> None:  # runs in the executor thread
            super().__init__()
            made.append(self)
            loop.call_soon_threadsafe(built.set)
            release.wait(10)

        def close(self) -> None:
            super().close()
            closed.set()

    monkeypatch.setattr(_run, "IdSet", Slow)
    task = asyncio.create_task(job._setup(options(tmp_path / "logs.jsonl")))
    await asyncio.wait_for(built.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not closed.is_set()
    release.set()
    await asyncio.wait_for(closed.wait(), 10)
    assert made[0]._closed
