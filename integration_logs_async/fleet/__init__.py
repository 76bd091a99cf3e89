"""Fleets of stores: many accounts harvested into one PostgreSQL database, exactly once each.

A stores file (TOML, :func:`load_stores`) lists the accounts, their credentials as
environment-variable references. :func:`harvest_store` is the unit of work (one store, one
harvest, resumed from its committed checkpoint; call it from Airflow, Dagster or Celery
tasks); :func:`run_fleet` runs every store in this process; :func:`enqueue` and
:func:`run_worker` spread them over any number of worker processes through a procrastinate
queue in PostgreSQL. Exactly once per store comes from the PostgreSQL sink: each batch is
committed with the store's checkpoint, and a store is written by one run at a time (an
advisory lock), whichever process runs it and however often a job is delivered.

The stores file, the clients and :func:`harvest_store` need only the core and asyncpg
(``[postgres]``); the rest needs ``pip install 'integration-logs-async[fleet]'``
(procrastinate, prometheus-client), imported when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._credentials import StoreCredentialsError, client_for_store, store_auth
from ._stores import StoreConfig, StoresFileError, load_stores, parse_stores
from ._unit import harvest_store

if TYPE_CHECKING:
    from ._metrics import FleetMetrics
    from ._queue import Enqueued, EnqueueResult, enqueue
    from ._run import FleetResult, Outcome, StoreOutcome, run_fleet, run_store
    from ._status import StoreStatus, read_status
    from ._worker import run_worker

_LAZY = {
    "FleetMetrics": "._metrics",
    "EnqueueResult": "._queue",
    "Enqueued": "._queue",
    "enqueue": "._queue",
    "FleetResult": "._run",
    "Outcome": "._run",
    "StoreOutcome": "._run",
    "run_fleet": "._run",
    "run_store": "._run",
    "StoreStatus": "._status",
    "read_status": "._status",
    "run_worker": "._worker",
}


def __getattr__(name: str) -> Any:
    """The names that need the ``[fleet]`` extra, imported on first use."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name, __name__)
    except ImportError as exc:
        raise ImportError(
            f"integration_logs_async.fleet.{name} needs {exc.name or 'a missing package'}: "
            "pip install 'integration-logs-async[fleet]'"
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "EnqueueResult",
    "Enqueued",
    "FleetMetrics",
    "FleetResult",
    "Outcome",
    "StoreConfig",
    "StoreCredentialsError",
    "StoreOutcome",
    "StoreStatus",
    "StoresFileError",
    "client_for_store",
    "enqueue",
    "harvest_store",
    "load_stores",
    "parse_stores",
    "read_status",
    "run_fleet",
    "run_store",
    "run_worker",
    "store_auth",
]
