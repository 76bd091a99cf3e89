"""The fan-out's vocabulary: a child's :class:`Source`, the pages it yields, and the options.

Shared by the scheduler (which starts the children) and the consumer (which merges them), and
re-exported by :mod:`integration_logs_async.fanout`; ``StreamFactory`` and ``SourceList`` are
what the clients hand a fan-out, machinery users never name.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar

import msgspec

from ..stream import AsyncStream, Page

T = TypeVar("T")

OnError = Literal["raise", "collect"]
"""What a child's failure does: cancel the rest and raise, or go on and collect it."""


@dataclass(frozen=True, slots=True)
class Source:
    """One child of a fan-out: a label and the ids it covers."""

    label: str
    integration_id: str | None = None
    job_id: str | None = None


StreamFactory = Callable[[str | None], AsyncStream[Any]]
"""Builds a child stream, resuming from the given child checkpoint (or from the start)."""

SourceList = Callable[[], AsyncIterable[tuple[Source, StreamFactory]]]
"""Produces the children lazily (listing integrations or jobs may itself need requests)."""

StopWhen = Callable[[Source, Any], bool]
"""Called per record; True ends that child before the record (e.g. an incremental watermark)."""


class SourcedPage(msgspec.Struct, Generic[T], frozen=True):
    """A page of one child, as yielded by :meth:`FanOutStream.pages` (immutable)."""

    source: Source
    page: Page[T]


class FanOutOptions(TypedDict, total=False):
    """Keyword options of the clients' fan-out methods (see :class:`FanOutStream`).

    ``concurrency`` (default 8): requests in flight at most; ``on_error``: ``"raise"`` (default)
    or ``"collect"``; ``resume_from``: a ``fanout.checkpoint``; ``max_items``: stop after that
    many records; ``stop_when``: per-record predicate ending that child (incremental runs);
    ``child_prefetch``: let each child prefetch pages as a lone stream would.
    """

    concurrency: int
    on_error: OnError
    resume_from: str | None
    max_items: int | None
    stop_when: StopWhen | None
    child_prefetch: bool


__all__ = [
    "FanOutOptions",
    "OnError",
    "Source",
    "SourceList",
    "SourcedPage",
    "StopWhen",
    "StreamFactory",
]
