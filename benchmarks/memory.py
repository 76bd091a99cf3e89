"""Benchmark 4 — memory: peak RSS of the harvest job's client process.

The real job (``run_harvest`` to a file) over stores of 100,000 and 1,000,000 Elastic Path
logs; peak RSS is the client process's ``ru_maxrss`` (the emulator is another process and is
not counted). Also shown: RSS after imports and client set-up, just before harvesting, and
the growth on top of it. Targets: peak(1M) <= 1.25x peak(100k), and peak(1M) < 150 MB.
"""

from __future__ import annotations

import statistics

from ._common import Row, Section, Target, ratio
from ._context import Context
from ._harvests import harvest_runs

NAME = "memory"
TITLE = "Harvest job peak RSS, client process only"


def sizes(quick: bool) -> tuple[int, int]:
    """(small, large) store sizes."""
    return (1_000, 10_000) if quick else (100_000, 1_000_000)


def run(ctx: Context) -> Section:
    section = Section(NAME, TITLE)
    small, large = sizes(ctx.quick)
    peaks = {}
    for size in (small, large):
        runs = harvest_runs(ctx, size, 1)
        peak = statistics.median(r["peak_rss_mb"] for r in runs)
        before = statistics.median(r["rss_before_mb"] for r in runs)
        peaks[size] = peak
        section.raw[str(size)] = runs
        section.rows.append(
            Row(
                NAME,
                f"harvest {size:,} records",
                {
                    "peak RSS MB": peak,
                    "RSS before MB": before,
                    "growth MB": peak - before,
                    "output MB": runs[0]["output_bytes"] / 2**20,
                    "rec/s": runs[0]["records_per_s"],
                    "emulator RSS MB": runs[0]["emulator_rss_mb"],
                },
                note=f"{len(runs)} run(s)",
            )
        )
    section.targets += [
        Target(
            NAME, f"peak {large:,} / peak {small:,}", ratio(peaks[large], peaks[small]), "<=", 1.25
        ),
        Target(NAME, f"peak {large:,} (MB)", peaks[large], "<", 150.0, unit="MB"),
    ]
    return section
