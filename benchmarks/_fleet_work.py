"""The fleet benchmark's worker variants (run by ``benchmarks._worker``).

- ``fleet_run``: :func:`integration_logs_async.fleet.run_fleet` over the stores file
  ``spec["stores_file"]`` into ``spec["to"]`` with ``spec["concurrency"]``, the stores'
  credentials from ``spec["env"]``; measured from the call to its return.
- ``fleet_store``: :func:`integration_logs_async.fleet.run_store` for the one store named
  ``spec["store"]``: the single-store harvest the fleet's CPU per record is compared with.

Both return records, requests, 429 responses and retries summed over the stores, the stores
that did not complete (with their one-line errors), and each store's elapsed seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["fleet_run", "fleet_store"]

Spec = dict[str, Any]
Run = Callable[[Awaitable[Any]], Awaitable[Any]]


def _summary(outcomes: list[Any]) -> dict[str, Any]:
    return {
        "stores": len(outcomes),
        "records": sum(o.records for o in outcomes),
        "requests": sum(o.requests for o in outcomes),
        "rate_limited": sum(o.rate_limited for o in outcomes),
        "retries": sum(o.retries for o in outcomes),
        "not_completed": {o.store: o.error for o in outcomes if o.outcome != "completed"},
        "store_elapsed": [round(o.elapsed, 3) for o in outcomes],
    }


async def fleet_run(spec: Spec, run: Run) -> dict[str, Any]:
    """Every store of the file, ``concurrency`` at a time (see the module)."""
    from integration_logs_async.fleet._run import run_fleet
    from integration_logs_async.fleet._stores import load_stores

    stores = load_stores(spec["stores_file"])
    result = await run(
        run_fleet(stores, spec["to"], concurrency=int(spec["concurrency"]), env=spec["env"])
    )
    return _summary(result.outcomes)


async def fleet_store(spec: Spec, run: Run) -> dict[str, Any]:
    """One store of the file, alone (see the module)."""
    from integration_logs_async.fleet._run import run_store
    from integration_logs_async.fleet._stores import load_stores

    (store,) = [s for s in load_stores(spec["stores_file"]) if s.name == spec["store"]]
    outcome = await run(run_store(store, spec["to"], env=spec["env"]))
    return _summary([outcome])
