"""Fan-out machinery behind :mod:`integration_logs_async.fanout`.

``_types`` (the vocabulary), ``_checkpoint`` (the composite checkpoint codec), ``_scheduler``
(one run of the children: listing, slots, child tasks, the merge queue) and ``_consumer``
(``FanOutStream``: the merge, progress and checkpoint). Clients build fan-outs from
``StreamFactory``/``SourceList``, which only this package exports.
"""

from ._consumer import FanOutStream
from ._types import (
    FanOutOptions,
    OnError,
    Source,
    SourcedPage,
    SourceList,
    StopWhen,
    StreamFactory,
)

__all__ = [
    "FanOutOptions",
    "FanOutStream",
    "OnError",
    "Source",
    "SourceList",
    "SourcedPage",
    "StopWhen",
    "StreamFactory",
]
