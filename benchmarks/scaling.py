"""Benchmark 5 — scaling: wall time and client CPU per record at 10k, 100k and 1M records.

The same harvest-job runs as the memory benchmark (shared when both run): the real job over
stores of 10,000, 100,000 and 1,000,000 Elastic Path logs, client in its own process. Smaller
sizes are repeated (best of the repeats). Target: per-record cost flat, i.e. the largest per-record
figure <= 1.25x the smallest, for both wall time and CPU.
"""

from __future__ import annotations

from ._common import Row, Section, Target
from ._context import Context
from ._harvests import harvest_runs

NAME = "scaling"
TITLE = "Harvest job cost per record as the store grows"


def plan(quick: bool) -> list[tuple[int, int]]:
    """(size, repeats)."""
    if quick:
        return [(1_000, 1), (3_000, 1), (10_000, 1)]
    # The smallest run is the shortest (0.2 s), so the most disturbed by other load: more repeats.
    return [(10_000, 7), (100_000, 3), (1_000_000, 1)]


def run(ctx: Context) -> Section:
    section = Section(NAME, TITLE)
    wall: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for size, repeats in plan(ctx.quick):
        runs = harvest_runs(ctx, size, repeats)
        # Best of the repeats: other load on the machine only ever adds time.
        wall[size] = min(r["wall"] * 1e6 / r["records"] for r in runs)
        cpu[size] = min(r["cpu_us_per_record"] for r in runs)
        server = min(r["server_cpu"] * 1e6 / r["records"] for r in runs)
        section.raw[str(size)] = runs
        section.rows.append(
            Row(
                NAME,
                f"harvest {size:,} records",
                {
                    "wall s": min(r["wall"] for r in runs),
                    "wall us/rec": wall[size],
                    "client CPU us/rec": cpu[size],
                    "server CPU us/rec": server,
                    "rec/s": max(r["records_per_s"] for r in runs),
                },
                note=f"best of {len(runs)}",
            )
        )
    section.targets += [
        Target(
            NAME,
            "wall us/rec max/min over sizes",
            max(wall.values()) / min(wall.values()),
            "<=",
            1.25,
        ),
        Target(
            NAME, "CPU us/rec max/min over sizes", max(cpu.values()) / min(cpu.values()), "<=", 1.25
        ),
    ]
    return section
