"""What a tail knows between polls, and how one poll's pages are judged against it (pure).

A tail reads a newest-first listing from its head on every poll. It must yield each log
once, survive deleted records and shifted pages, and catch logs that arrive late with an
older ``created_at`` (as ``aws logs tail`` learned, a "last id seen" or "+1 ms" marker does
neither). So the tail keeps no marker record, but:

- ``newest``: the newest ``created_at`` among the logs it has accounted for;
- ``known``: the ids it has accounted for (yielded, filtered out, or present when it
  started), each with its ``created_at``;
- the *floor*, ``max(since, newest - lookback)``: a log older than that is outside the
  look-back window and is never yielded.

A poll walks pages until a page reaches below the floor (:meth:`PollScan.feed`); any log
not known and not below the floor is new. After the poll, ``known`` keeps the ids above the
floor, and the older ones still listed above newer logs (:func:`prune`): bounded by the
window, never by the store. A log that shows up older than the floor *above* newer logs (it
arrived later than the window allows) is a gap the tail cannot close: :class:`TailGapError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import msgspec

from ..errors import TailGapError
from ..records import RawRecord


class TailState(msgspec.Struct, kw_only=True, frozen=True):
    """Where a tail stands: what a checkpoint holds.

    ``started``: False until the first poll, when ``since`` None means "from the logs
    present then": that poll only learns them. ``known`` maps ids to ``created_at``.
    """

    since: datetime | None = None
    newest: datetime | None = None
    known: dict[str, datetime] = msgspec.field(default_factory=dict)
    started: bool = False

    def floor(self, lookback: timedelta) -> datetime | None:
        """The oldest ``created_at`` still yielded (None: no bound)."""
        window = None if self.newest is None else self.newest - lookback
        if self.since is None:
            return window
        if window is None:
            return self.since
        return max(self.since, window)


class PollResult(msgspec.Struct, kw_only=True, frozen=True):
    """What one poll found: the new logs, oldest first, and the other logs to remember
    (a baseline's, and known logs below the floor that sit above newer ones)."""

    new: list[RawRecord]
    walked: dict[str, datetime]
    pages: int
    baseline: bool
    start: datetime | None = None
    """A baseline's floor: the tail yields no log created before it (even with a wider
    look-back later), since the logs before it were there when the tail started."""


class PollScan:
    """One poll's walk over the pages of a newest-first listing, judged against ``state``.

    Feed pages in order with :meth:`feed` while it returns True, then take :meth:`result`.
    A *head* poll stops at the first page holding a log already accounted for: in a listing
    kept in the order logs were added, nothing new lies below it. A *sweep* (``deep=True``;
    always the first poll) reads on down to the floor, for late logs that a listing sorted
    by ``created_at`` files below newer ones. A *baseline* poll (the first one, with no
    ``since``) accounts for every log it walks and yields none: the tail starts after them.
    Its floor comes from the first page.
    """

    __slots__ = (
        "_baseline",
        "_deep",
        "_first",
        "_floor",
        "_held",
        "_known",
        "_late",
        "_lookback",
        "_new",
        "_pages",
        "_seen",
        "_since",
        "_walked",
        "_where",
    )

    def __init__(
        self, state: TailState, lookback: timedelta, *, where: str, deep: bool = True
    ) -> None:
        self._lookback = lookback
        self._known = state.known
        self._since = state.since
        self._first = not state.started
        self._deep = deep or self._first
        self._baseline = self._first and state.since is None
        self._floor = None if self._baseline else state.floor(lookback)
        self._where = where
        self._new: list[RawRecord] = []
        self._seen: set[str] = set()
        self._walked: dict[str, datetime] = {}  # ids to account for besides the new logs
        self._held: dict[str, datetime] = {}  # known logs below the floor, not yet judged
        self._late: RawRecord | None = None  # an unknown log below the floor, not yet judged
        self._pages = 0

    @property
    def floor(self) -> datetime | None:
        """The floor this poll applies (a baseline's is set by its first page)."""
        return self._floor

    def feed(self, items: Sequence[RawRecord]) -> bool:
        """Judge one page (newest first); True if the walk must read the next page.

        It goes on while the page reached neither the floor nor (unless a sweep) a known
        log, and also while a page holds new logs and no known one (an unknown old log on it
        may sit above more new logs).
        """
        self._pages += 1
        if self._baseline and self._floor is None and items:
            newest = max(_created(r, self._where) for r in items)
            self._floor = newest - self._lookback
        floor, known, seen, walked = self._floor, self._known, self._seen, self._walked
        baseline, held = self._baseline, self._held
        reached_floor = met_known = found_new = False
        for record in items:
            ident = record.id
            if ident in seen:  # met earlier in this poll (an offset page shifted)
                continue
            seen.add(ident)
            created = _created(record, self._where)
            is_known = ident in known
            met_known = met_known or is_known
            if floor is not None and created < floor:
                reached_floor = True
                if is_known or baseline:
                    held[ident] = created  # kept if a newer log follows it (out of order)
                elif (
                    self._late is None
                    and not self._first
                    and (self._since is None or created >= self._since)
                ):
                    self._late = record
                continue
            if held:  # older logs above this one: remember them while they stay there
                walked.update(held)
                held.clear()
            if self._late is not None:
                raise _gap(self._late, record, floor, self._where)
            if baseline:
                walked[ident] = created
            elif not is_known:
                self._new.append(record)
                found_new = True
        if met_known:
            return self._deep and not reached_floor
        return found_new or not reached_floor

    def result(self) -> PollResult:
        """The new logs oldest first (ties keep the listing's order, reversed), and the walk."""
        new = self._new
        new.reverse()
        new.sort(key=_created_at)
        start = self._floor if self._baseline else None
        return PollResult(
            new=new,
            walked=self._walked,
            pages=self._pages,
            baseline=self._baseline,
            start=start,
        )


def advance(
    state: TailState,
    walked: dict[str, datetime],
    lookback: timedelta,
    *,
    start: datetime | None = None,
) -> TailState:
    """The state after a poll that yields nothing more: its walk accounted for; ``start``,
    a baseline's floor, becomes ``since`` (the tail's start point)."""
    newest = state.newest
    if walked:
        top = max(walked.values())
        newest = top if newest is None or top > newest else newest
    merged = {**state.known, **walked}
    since = state.since if start is None or state.since is not None else start
    after = TailState(since=since, newest=newest, known=merged, started=True)
    return prune(after, walked, lookback)


def account(state: TailState, record: RawRecord) -> TailState:
    """The state once ``record`` (a new log) is yielded or filtered out."""
    created = _created(record, "")
    newest = state.newest
    known = dict(state.known)
    known[record.id] = created
    return TailState(
        since=state.since,
        newest=created if newest is None or created > newest else newest,
        known=known,
        started=True,
    )


def prune(state: TailState, walked: Iterable[str], lookback: timedelta) -> TailState:
    """``state`` keeping only the known ids above the floor, or in ``walked`` (listed above
    newer logs in the last poll)."""
    floor = state.floor(lookback)
    if floor is None:
        return state
    keep = set(walked)
    known = {i: t for i, t in state.known.items() if t >= floor or i in keep}
    if len(known) == len(state.known):
        return state
    return TailState(since=state.since, newest=state.newest, known=known, started=state.started)


def _created(record: RawRecord, where: str) -> datetime:
    created = record.created_at
    if created is None:
        raise TailGapError(
            f"log {record.id} of {where} has no created_at, so a tail cannot place it; "
            "read this listing with logs() instead, or report it to the provider"
        )
    return created


def _created_at(record: RawRecord) -> datetime:
    return record.created_at  # type: ignore[return-value]  # checked when walked


def _gap(late: RawRecord, newer: RawRecord, floor: datetime | None, where: str) -> TailGapError:
    return TailGapError(
        f"log {late.id} of {where} appeared with created_at {_iso(late.created_at)}, older "
        f"than the look-back window (floor {_iso(floor)}), above log {newer.id} "
        f"({_iso(newer.created_at)}): it arrived too late to be placed exactly once. Raise "
        "lookback (--lookback) to cover such delays, or harvest this range with logs()"
    )


def _iso(value: datetime | None) -> str:
    return "none" if value is None else value.isoformat()


__all__ = ["PollResult", "PollScan", "TailState", "account", "advance", "prune"]
