"""The pagination engine: two pagers (cursor, offset) driven by declarative page styles.

A pager walks one listing from a position and yields fetched pages; the stream on top
(:mod:`integration_logs_async.stream`) counts consumed records and mints checkpoints.
Providers describe their pages with :class:`CursorStyle` or :class:`OffsetStyle`.
"""

from typing import TypeVar

from ._checkpoint import PendingCheckpoint, decode_checkpoint, encode_checkpoint
from ._codec import RecordCodec, record_id
from ._cursor import CursorPager
from ._fetched import FetchedCursorPage, FetchedOffsetPage, FetchedPage
from ._offset import OffsetPager
from ._positions import CursorPosition, OffsetPosition, Position
from ._styles import CursorPageView, CursorStyle, OffsetPageView, OffsetStyle

T = TypeVar("T")

Pager = CursorPager[T] | OffsetPager[T]
"""A pager of either style."""

__all__ = [
    "CursorPageView",
    "CursorPager",
    "CursorPosition",
    "CursorStyle",
    "FetchedCursorPage",
    "FetchedOffsetPage",
    "FetchedPage",
    "OffsetPageView",
    "OffsetPager",
    "OffsetPosition",
    "OffsetStyle",
    "Pager",
    "PendingCheckpoint",
    "Position",
    "RecordCodec",
    "decode_checkpoint",
    "encode_checkpoint",
    "record_id",
]
