"""The harvest job: every integration log into a JSON Lines file, crash-safe and incremental.

Use it from Python (:func:`run_harvest`) or from the command line
(``integration-logs harvest ...``).
"""

from ..providers import Scope
from ..records import NormalizedLog
from ._job import HarvestResult, build_stream, run_harvest
from ._options import HarvestOptions, Provider, default_scope
from ._output import OutputFormat, lossless_line
from ._paths import HarvestFileError
from ._state import HarvestState, Watermark, load_state

__all__ = [
    "HarvestFileError",
    "HarvestOptions",
    "HarvestResult",
    "HarvestState",
    "NormalizedLog",
    "OutputFormat",
    "Provider",
    "Scope",
    "Watermark",
    "build_stream",
    "default_scope",
    "load_state",
    "lossless_line",
    "run_harvest",
]
