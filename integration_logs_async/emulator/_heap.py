"""Keep the emulator's generated data out of the garbage collector's full collections."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Freeze every object allocated so far (the generated stores) for the life of the process.

    A full collection walks every tracked object: with a fleet's ~140,000 record objects it
    held the server's event loop for ~60 ms, so requests queued behind it reached the rate
    limiter together and a client pacing 5% below a one-second window drew 429s
    (benchmarks/README.md, "Fleet"). Objects created later (arriving logs, responses) are
    collected as usual. Called by the command-line servers only: freezing is process-wide,
    which a library must not do to its host.
    """
    gc.collect()
    gc.freeze()
