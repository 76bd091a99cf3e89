"""The harvest job: every integration log into a JSON Lines file or a database, crash-safe
and incremental.

Use it from Python (:func:`run_harvest`; :func:`follow_harvest` to keep appending new logs
once it completes) or from the command line (``integration-logs harvest ... [--follow]``).
``HarvestOptions(to="duckdb:///logs.duckdb")`` (or ``postgresql://...``, ``parquet:///dir``)
harvests into a sink (:mod:`integration_logs_async.sinks`), its state (:class:`SinkState`)
committed with the rows.
"""

from ..providers import Scope
from ..records import NormalizedLog
from ._follow import FollowError, FollowStatus, follow_harvest
from ._job import run_harvest
from ._options import HarvestOptions, Provider, default_scope
from ._output import OutputFormat, lossless_line
from ._paths import HarvestFileError
from ._reading import HarvestResult, build_stream
from ._sink_state import SinkState
from ._state import FollowMark, HarvestState, Watermark, load_state

__all__ = [
    "FollowError",
    "FollowMark",
    "FollowStatus",
    "HarvestFileError",
    "HarvestOptions",
    "HarvestResult",
    "HarvestState",
    "NormalizedLog",
    "OutputFormat",
    "Provider",
    "Scope",
    "SinkState",
    "Watermark",
    "build_stream",
    "default_scope",
    "follow_harvest",
    "load_state",
    "lossless_line",
    "run_harvest",
]
