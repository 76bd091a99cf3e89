"""Harvest-job runs shared by the memory and scaling benchmarks (cached per store size).

Each run: an emulator process holding exactly ``size`` Elastic Path logs over 20
integrations, and the real job, ``integration_logs_async.harvest.run_harvest`` (scope
``integrations``, fan-out 8, raw output to a file, state file, id de-duplication), in a fresh
client process. The output is checked (every record, once) and deleted.
"""

from __future__ import annotations

from typing import Any

from ._common import BenchmarkError, EmulatorProcess, run_worker
from ._context import Context


def harvest_runs(ctx: Context, size: int, repeats: int) -> list[dict[str, Any]]:
    """At least ``repeats`` harvest runs of a ``size``-record store (reusing earlier ones)."""
    cache: dict[int, list[dict[str, Any]]] = ctx.cache.setdefault("harvests", {})
    runs = cache.setdefault(size, [])
    if len(runs) >= repeats:
        return runs
    with EmulatorProcess(logs=size, integrations=20) as emu:
        for k in range(len(runs), repeats):
            ctx.say(f"harvest {size:,} records (run {k + 1}/{repeats})")
            spec = {
                "variant": "harvest",
                "provider": "elasticpath",
                "conn": emu.connection(),
                "rate_limit": 0,
                "concurrency": 8,
                "out": str(ctx.scratch / f"harvest-{size}.jsonl"),
                "profile": ctx.profile_spec(f"harvest-{size}"),
            }
            cpu0 = emu.cpu_seconds()
            result = run_worker(spec, timeout=1200)
            result["server_cpu"] = emu.cpu_seconds() - cpu0
            result["emulator_startup_s"] = emu.startup_seconds
            result["emulator_rss_mb"] = emu.rss_mb()
            if (
                result["records"] != size
                or result["output_lines"] != size
                or result["duplicates"]
                or not result["complete"]
            ):
                raise BenchmarkError(
                    f"harvest of {size:,} records wrote {result['records']:,} "
                    f"({result['output_lines']:,} lines, duplicates {result['duplicates']}, "
                    f"complete {result['complete']})"
                )
            runs.append(result)
    return runs
