"""Fast timestamp rendering for the two providers' formats (hot path of page building)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NANOS = 1_000_000_000


@lru_cache(maxsize=8192)
def _date(day: int) -> bytes:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d").encode()


@lru_cache(maxsize=64)
def offset_suffix(offset_seconds: int) -> bytes:
    """``+01:00`` style suffix for a UTC offset in seconds."""
    sign = "+" if offset_seconds >= 0 else "-"
    hours, minutes = divmod(abs(offset_seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}".encode()


_TWO_DIGITS = tuple(b"%02d" % n for n in range(60))


@lru_cache(maxsize=1 << 16)
def minute_prefix(epoch_minute: int) -> bytes:
    """``YYYY-MM-DDTHH:MM:`` for a minute since the epoch (cached: records cluster)."""
    day, minute = divmod(epoch_minute, 1440)
    return b"%sT%02d:%02d:" % (_date(day), minute // 60, minute % 60)


def sendcloud_timestamp(epoch_seconds: int, offset_seconds: int) -> bytes:
    """Sendcloud style: local time with offset, e.g. ``2023-03-01T02:02:00+01:00``."""
    local = epoch_seconds + offset_seconds
    return minute_prefix(local // 60) + _TWO_DIGITS[local % 60] + offset_suffix(offset_seconds)


def elasticpath_timestamp(epoch_nanos: int) -> bytes:
    """Elastic Path log style: UTC with nanoseconds, e.g. ``2017-10-30T18:15:40.087650928Z``."""
    epoch_seconds, nanos = divmod(epoch_nanos, NANOS)
    return minute_prefix(epoch_seconds // 60) + b"%02d.%09dZ" % (epoch_seconds % 60, nanos)


def utc_seconds_timestamp(epoch_seconds: int) -> str:
    """Whole-second UTC timestamp, e.g. ``2017-07-21T17:32:28Z``."""
    return (_EPOCH + timedelta(seconds=epoch_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
