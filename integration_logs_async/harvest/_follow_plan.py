"""Pure decisions of ``harvest --follow``: where the tail starts, which followed logs are
kept, and which harvest stream a followed log belongs to (for its watermark)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from ..errors import IntegrationLogsError
from ..providers import Scope
from ..records import RawRecord
from ._state import Watermark

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The start point when nothing bounds it (an empty listing): every log is read once."""


class FollowError(IntegrationLogsError):
    """A followed log cannot be placed in the harvest exactly; the follow stops, its last
    saved state still exact (rerun to continue)."""


def check_follow_interval(interval: float, lookback: float) -> None:
    """``ValueError`` unless ``interval`` > 0 and ``lookback`` >= 0 are finite seconds."""
    for name, value, low in (("interval", interval, 0.0), ("lookback", lookback, 0.0)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value < float("inf")
        ):
            raise ValueError(f"follow {name} must be a finite number of seconds, got {value!r}")
    if not interval > 0:
        raise ValueError(f"follow interval must be more than 0 seconds, got {interval!r}")


def start_since(
    head: datetime | None,
    lookback: float,
    *,
    since: datetime | None,
    pending: Iterable[Watermark] = (),
) -> datetime:
    """Where the follow's first poll reads down to, decided before the harvest reads anything.

    ``head``: the newest ``created_at`` at the head of the account's listing now (None: it is
    empty). Every log listed now is harvested; one listed later is newer than ``head``, or a
    late arrival at most ``lookback`` older: the tail reads down to ``head - lookback``,
    and skips what the harvest wrote by id. ``pending``: the newest log of each stream an
    interrupted run (without a follow) already read; logs added to those streams since are
    not re-read by the resumed harvest, so the tail reaches down to them too. The harvest's
    own ``since`` bounds it from below.
    """
    window = timedelta(seconds=lookback)
    floor = EPOCH if head is None else head - window
    for mark in pending:
        if mark.created_at is not None:
            floor = min(floor, datetime.fromisoformat(mark.created_at) - window)
    if since is not None:
        floor = max(floor, since)
    return floor


def owned_records(
    records: Sequence[RawRecord], integration_ids: Sequence[str], where: str
) -> list[RawRecord]:
    """The records of ``integration_ids`` (all when empty); :class:`FollowError` for a record
    that names no integration while some are chosen (it cannot be told apart)."""
    if not integration_ids:
        return list(records)
    chosen = set(integration_ids)
    kept = []
    for record in records:
        owner = record.integration_id
        if owner is None:
            raise FollowError(
                f"{where} listed log {record.id} without its integration_id, so --follow "
                f"cannot tell whether it belongs to --integration {' '.join(integration_ids)}; "
                "nothing after the last saved batch was kept. Follow without --integration "
                "(every log), or rerun the harvest without --follow to collect these "
                "integrations' logs from their own listings"
            )
        if owner in chosen:
            kept.append(record)
    return kept


def stream_label(scope: Scope, record: RawRecord) -> str | None:
    """The label of the harvest stream of ``scope`` that lists ``record`` (as the providers'
    fan-outs name them), or None when the record does not say."""
    if scope == "all":
        return "all"
    owner = record.integration_id
    if owner is None:
        return None
    if scope == "integrations":
        return f"integration {owner}"
    if scope == "jobs" and record.job_id is not None:
        return f"integration {owner} job {record.job_id}"
    return None


def advance_watermarks(
    marks: dict[str, Watermark], scope: Scope, records: Iterable[RawRecord]
) -> dict[str, Watermark]:
    """``marks`` moved to the newest of ``records`` in each stream (never back), so a later
    incremental harvest stops at the followed logs."""
    moved = dict(marks)
    for record in records:
        label = stream_label(scope, record)
        created = record.created_at
        if label is None or created is None:
            continue
        old = moved.get(label)
        if (
            old is not None
            and old.created_at is not None
            and datetime.fromisoformat(old.created_at) > created
        ):
            continue
        moved[label] = Watermark(id=record.id, created_at=created.isoformat())
    return moved


__all__ = [
    "EPOCH",
    "FollowError",
    "advance_watermarks",
    "check_follow_interval",
    "owned_records",
    "start_since",
    "stream_label",
]
