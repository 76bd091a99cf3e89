"""The tail's plain types: its options, counters, per-poll batches and listing description."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar

from ..records import NormalizedLog, RawRecord
from ..stream import AsyncStream
from ._filter import Status

T = TypeVar("T")


class TailOptions(TypedDict, total=False):
    """Keyword options of ``client.tail()``.

    - ``since``: yield logs created at or after this aware datetime; None (default): the logs
      created after the tail starts (those present at its first poll are skipped).
    - ``resume_from``: a :attr:`TailStream.checkpoint` to continue from (``since`` is then
      ignored: the checkpoint knows where it stands).
    - ``poll_interval``: seconds between polls (default 5), jittered by 10% either way.
    - ``lookback``: seconds; a log that appears late, with a ``created_at`` up to this much
      older than the newest log already seen, is still yielded (default 60).
    - ``page_size``: records per request (the provider's maximum by default).
    - ``failed_only``, ``status``, ``integration_ids``: client-side filters (no extra
      requests): drop succeeded logs; keep these statuses (``503``, ``"5xx"``, ``"none"``);
      keep these integrations' logs.
    """

    since: datetime | None
    resume_from: str | None
    poll_interval: float
    lookback: float
    page_size: int | None
    failed_only: bool
    status: list[Status] | tuple[Status, ...]
    integration_ids: list[int | str] | tuple[int | str, ...]


@dataclass
class TailStats:
    """What a tail has done so far."""

    polls: int = 0
    idle_polls: int = 0  # polls that found nothing new
    pages: int = 0  # pages read (one request each, retries aside)
    new: int = 0  # new logs found, filtered or not
    yielded: int = 0
    sweeps: int = 0  # polls that read the look-back window to its floor
    failures: int = 0  # polls that failed with a transient error and were tried again
    last_poll_at: float | None = None  # time.time() when the latest poll completed
    last_error: str | None = None  # the latest transient failure, None after a good poll
    floor: datetime | None = None  # the oldest created_at still yielded, as of the last poll


@dataclass(frozen=True)
class TailBatch(Generic[T]):
    """The logs one poll found (after filters), oldest first, and the checkpoint after them."""

    items: list[T]
    checkpoint: str
    found_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class TailListing:
    """What a client gives a tail: the listing and how to read and type its records."""

    provider: str  # the client's checkpoint name, e.g. "sendcloud"
    key: str  # the listing's path, e.g. "/integrations/logs"
    where: str  # for messages, e.g. "Sendcloud /integrations/logs"
    open: Callable[[], AsyncStream[RawRecord]]  # a fresh raw walk from the head
    decode: Callable[[RawRecord], Any]  # a raw record as the client's typed log
    normalize: Callable[[RawRecord], NormalizedLog]


__all__ = ["TailBatch", "TailListing", "TailOptions", "TailStats"]
