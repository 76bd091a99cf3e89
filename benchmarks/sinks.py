"""Benchmark 7 — sinks: PostgreSQL, DuckDB and Parquet against JSON Lines, in one run.

Every client runs in a worker process of its own (``benchmarks._worker``: CPU is that
process's ``time.process_time``, every thread; peak RSS its ``ru_maxrss``); the emulator
(Sendcloud API v2 logs, 20 integrations) and the PostgreSQL server (a throwaway cluster this
benchmark starts and deletes, ``fsync``/``synchronous_commit``/``full_page_writes`` on: see
``benchmarks._sinks_postgres``) run in other processes, pinned to the server's CPU; DuckDB
and Parquet run inside the client (their threads are on the client's CPU and counted).

1. Write path (what a sink costs): the logs are read from the emulator once and turned into
   rows (``sinks.log_row``) and JSON Lines lines (the file harvest's ``encode_line``), then a
   fresh worker per run writes them, measured, in the batches a harvest gives that sink
   (``Sink.batch_records``: 5,000, DuckDB 8,192, Parquet 25,000; JSON Lines 5,000) with
   ``sink.write(rows, state)``: one transaction per batch, with a state document. The
   baseline, JSON Lines: batches through the file harvest's ``JsonlWriter``, fsync
   and the state file replaced atomically, as the file harvest commits. Targets (absolute,
   as issue 19 sets them for this 2-core machine): PostgreSQL >= 20,000 records/s, DuckDB and
   Parquet >= 100,000 records/s. Each sink's CPU per record is also shown as a ratio to JSON
   Lines', and the close that follows the clock (median): DuckDB compresses the table into
   its file then (its checkpoint), work a long harvest does every 256 MB of log.
2. Harvest (end to end): ``run_harvest`` (scope ``integrations``, fan-out 8) from the
   emulator into each sink and into a JSON Lines file, the same store: records/s and client
   CPU per record; reported (the emulator, on one core, bounds every harvest's rate).
3. Memory: the same harvest's peak RSS for 100,000 records (the least of the runs of 2) and
   for 1,000,000 (one run, another emulator), into DuckDB and Parquet (the sinks that work
   inside the client; PostgreSQL's client holds no table, and its 1M run alone would take
   ~110 s): target 1M <= 1.25x 100k.

Every run starts from an empty target and must leave exactly the store's records in it
(rows and distinct ids, counted in this process), else the benchmark is broken. Figures are
the best of the repeats (write path 3, harvest 2; least CPU, most records/s: other load only
ever adds); medians are in the JSON file. Full run: about 4.5 minutes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import statistics
from collections.abc import Iterator
from typing import Any, TypedDict

from ._common import BenchmarkError, EmulatorProcess, Row, Section, Target, ratio, run_worker
from ._context import Context
from ._sinks_check import SinkTargets
from ._sinks_postgres import available, postgres_server

__all__ = ["NAME", "TITLE", "run"]

NAME = "sinks"
TITLE = "Sinks: PostgreSQL, DuckDB, Parquet vs JSON Lines (write path, harvest, memory)"

PROVIDER = "sendcloud"
LABELS = {
    "jsonl": "JSON Lines (baseline)",
    "postgresql": "PostgreSQL",
    "duckdb": "DuckDB",
    "parquet": "Parquet",
}
RATE_TARGETS = {"postgresql": 20_000.0, "duckdb": 100_000.0, "parquet": 100_000.0}
MEMORY_SINKS = ("duckdb", "parquet")  # PostgreSQL's client holds no table: ~1.06x (one run)
MEMORY_LIMIT = 1.25
EMBEDDED = {"duckdb": ("duckdb", "pyarrow"), "parquet": ("pyarrow",)}


class _Sizes(TypedDict):
    store: int  # records in the emulated store
    batch: int | None  # records per write (None: each sink's own)
    writes: int  # write-path runs per sink
    harvests: int  # harvest runs per sink
    large: int  # records of the memory benchmark's large harvest


def _sizes(quick: bool) -> _Sizes:
    if quick:
        return {"store": 5_000, "batch": 1_000, "writes": 1, "harvests": 1, "large": 20_000}
    # batch None: each sink's own (what a harvest gives it)
    return {"store": 100_000, "batch": None, "writes": 3, "harvests": 2, "large": 1_000_000}


def _installed(ctx: Context) -> list[str]:
    """DuckDB and Parquet when their extras are installed (else left out, targets SKIP)."""
    found = {name: importlib.util.find_spec(name) is not None for name in ("duckdb", "pyarrow")}
    kinds = [k for k, needs in EMBEDDED.items() if all(found[n] for n in needs)]
    for kind in sorted(set(EMBEDDED) - set(kinds)):
        ctx.say(f"sinks: {kind} left out: pip install -e '.[{kind}]'")
    return kinds


@contextlib.contextmanager
def _postgres(ctx: Context) -> Iterator[Any]:
    if not available():
        ctx.say("sinks: no PostgreSQL server binaries or asyncpg: PostgreSQL is left out")
        yield None
        return
    with postgres_server() as server:
        yield server


def _checked(
    targets: SinkTargets, url: str, result: dict[str, Any], expect: int, what: str
) -> None:
    """Exactly the store's records, once each, or the benchmark is broken."""
    rows, distinct = targets.count(url)
    result["sink_rows"], result["sink_distinct_ids"] = rows, distinct
    if (
        result.get("records") != expect
        or rows != expect
        or distinct != expect
        or result.get("duplicates")
        or result.get("complete") is False
    ):
        raise BenchmarkError(
            f"{what}: {result.get('records')} records reported, {rows:,} rows and {distinct:,} "
            f"distinct ids in {url.split('@')[-1]}, expected {expect:,} (duplicates "
            f"{result.get('duplicates')}, complete {result.get('complete')})"
        )


def _best(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "records_per_s": max(r["records_per_s"] for r in runs),
        "cpu_us_per_record": min(r["cpu_us_per_record"] for r in runs),
        "records_per_s_median": statistics.median(r["records_per_s"] for r in runs),
        "cpu_us_per_record_median": statistics.median(r["cpu_us_per_record"] for r in runs),
        "peak_rss_mb": min(r["peak_rss_mb"] for r in runs),
        "close_s_median": statistics.median(r.get("close_s", 0.0) for r in runs),
    }


def _series(
    ctx: Context,
    targets: SinkTargets,
    kinds: list[str],
    repeats: int,
    expect: int,
    spec: dict[str, Any],
    what: str,
) -> dict[str, list[dict[str, Any]]]:
    """``repeats`` interleaved runs of ``spec`` per sink kind, each into a fresh target."""
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for k in range(repeats):
        for kind in kinds if k % 2 == 0 else list(reversed(kinds)):
            ctx.say(f"sinks {what}: {kind} (run {k + 1}/{repeats})")
            url = targets.fresh(kind)
            run_spec = {**spec, "profile": ctx.profile_spec(f"sinks-{what}-{kind}")}
            if spec["variant"] == "harvest" and kind == "jsonl":
                run_spec["out"] = url.split("://", 1)[1]
                run_spec.pop("store", None)  # a file has no store column
            else:
                run_spec["to"] = url
            try:
                result = run_worker(run_spec, timeout=1200)
                if kind == "jsonl" and spec["variant"] == "harvest":
                    result["complete"] = result.get("complete", True)
                    if result.get("output_lines") != expect:
                        raise BenchmarkError(
                            f"{what} into JSON Lines wrote {result.get('output_lines')} lines, "
                            f"expected {expect:,}"
                        )
                else:
                    _checked(targets, url, result, expect, f"{what} into {LABELS[kind]}")
            finally:
                targets.remove(url)
            runs[kind].append(result)
    return runs


def _rate_rows(
    section: Section, case: str, runs: dict[str, list[dict[str, Any]]], note: str
) -> dict[str, dict[str, float]]:
    best = {kind: _best(results) for kind, results in runs.items()}
    base = best["jsonl"]
    for kind, fig in best.items():
        section.rows.append(
            Row(
                NAME,
                f"{case}: {LABELS[kind]}",
                {
                    "rec/s": fig["records_per_s"],
                    "x JSONL rec/s": ratio(fig["records_per_s"], base["records_per_s"]),
                    "client CPU us/rec": fig["cpu_us_per_record"],
                    "x JSONL CPU": ratio(fig["cpu_us_per_record"], base["cpu_us_per_record"]),
                    "peak RSS MB": fig["peak_rss_mb"] if case.startswith("harvest") else None,
                    "close s": fig["close_s_median"] if case.startswith("write") else None,
                },
                note=note,
            )
        )
    return best


def run(ctx: Context) -> Section:
    section = Section(NAME, TITLE)
    size = _sizes(ctx.quick)
    store, large = size["store"], size["large"]
    with _postgres(ctx) as server:
        kinds = ["jsonl", *_installed(ctx)] + (["postgresql"] if server is not None else [])
        targets = SinkTargets(ctx.scratch, server)
        section.raw["postgres"] = (
            None if server is None else {"durable": True, "fsync": "on", "shared_buffers": "64MB"}
        )
        emulator_args = ["--elasticpath-logs", "10"]  # Sendcloud logs only
        with EmulatorProcess(logs=store, integrations=20, extra=emulator_args) as emu:
            conn = emu.connection()
            rows_file = ctx.scratch / "sink-rows.pickle"
            ctx.say(f"sinks: reading {store:,} logs to build rows")
            prepared = run_worker(
                {
                    "variant": "sink_rows",
                    "provider": PROVIDER,
                    "conn": conn,
                    "rate_limit": 0,
                    "max_records": store,
                    "rows_file": str(rows_file),
                },
                timeout=1200,
            )
            if prepared["records"] != store:
                raise BenchmarkError(f"read {prepared['records']} logs to build rows, not {store}")
            section.raw["rows"] = prepared
            write_spec = {
                "variant": "sink_write",
                "rows_file": str(rows_file),
                "batch": size["batch"],
            }
            writes = _series(ctx, targets, kinds, size["writes"], store, write_spec, "write")
            rows_file.unlink(missing_ok=True)
            harvest_spec = {
                "variant": "harvest",
                "provider": PROVIDER,
                "conn": conn,
                "rate_limit": 0,
                "concurrency": 8,
                "store": "bench:emulator",
            }
            harvests = _series(
                ctx, targets, kinds, size["harvests"], store, harvest_spec, "harvest"
            )
        batches = (
            "each sink's batches" if size["batch"] is None else f"batches of {size['batch']:,}"
        )
        note = f"{store:,} SC v2 logs, {batches}, best of {size['writes']}"
        write_best = _rate_rows(section, "write path", writes, note)
        harvest_best = _rate_rows(
            section,
            "harvest",
            harvests,
            f"{store:,} SC v2 logs, scope integrations, fan-out 8, best of {size['harvests']}",
        )
        memory_kinds = [k for k in MEMORY_SINKS if k in kinds]
        bigs: dict[str, list[dict[str, Any]]] = {}
        if memory_kinds:
            with EmulatorProcess(logs=large, integrations=20, extra=emulator_args) as emu:
                big_spec = {**harvest_spec, "conn": emu.connection()}
                bigs = _series(ctx, targets, memory_kinds, 1, large, big_spec, "memory")
    section.raw.update({"write": writes, "harvest": harvests, "memory": bigs})
    section.raw["summary"] = {"write": write_best, "harvest": harvest_best}
    for kind in memory_kinds:
        small_peak = harvest_best[kind]["peak_rss_mb"]
        big = bigs[kind][0]
        section.rows.append(
            Row(
                NAME,
                f"memory: {LABELS[kind]}",
                {
                    f"peak RSS MB {store:,}": small_peak,
                    f"peak RSS MB {large:,}": big["peak_rss_mb"],
                    "x": ratio(big["peak_rss_mb"], small_peak),
                    f"rec/s {large:,}": big["records_per_s"],
                },
                note=f"harvest; {store:,}: least of the runs above, {large:,}: 1 run",
            )
        )
        section.targets.append(
            Target(
                NAME,
                f"{LABELS[kind]} peak RSS {large:,} / {store:,}",
                ratio(big["peak_rss_mb"], small_peak),
                "<=",
                MEMORY_LIMIT,
            )
        )
    base_cpu = write_best["jsonl"]["cpu_us_per_record"]
    for kind, limit in RATE_TARGETS.items():
        fig = write_best.get(kind)
        section.targets.append(
            Target(
                NAME,
                f"{LABELS[kind]} write path rec/s",
                None if fig is None else fig["records_per_s"],
                ">=",
                limit,
                unit="rec/s",
                note=""
                if fig is None
                else f"CPU {ratio(fig['cpu_us_per_record'], base_cpu):.2f}x JSONL",
                skipped=fig is None,
            )
        )
    return section
