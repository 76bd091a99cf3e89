"""The live tail: follow a newest-first listing and yield each new log once (see ``tail``)."""

from ._checkpoint import decode_tail_checkpoint, encode_tail_checkpoint
from ._filter import LogFilter, Status, parse_status, status_matches
from ._stream import TRANSIENT_ERRORS, TailStream, typed_decoder
from ._types import TailBatch, TailListing, TailOptions, TailStats
from ._window import PollResult, PollScan, TailState, account, advance, prune

__all__ = [
    "TRANSIENT_ERRORS",
    "LogFilter",
    "PollResult",
    "PollScan",
    "Status",
    "TailBatch",
    "TailListing",
    "TailOptions",
    "TailState",
    "TailStats",
    "TailStream",
    "account",
    "advance",
    "decode_tail_checkpoint",
    "encode_tail_checkpoint",
    "parse_status",
    "prune",
    "status_matches",
    "typed_decoder",
]
