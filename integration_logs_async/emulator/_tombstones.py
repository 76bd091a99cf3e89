"""Deleted records of one provider's store: tombstones and the live "all records" scope.

Deletes are rare, listings are hot: while nothing is deleted the scope of all records
stays a plain ``range`` and the per-integration scopes are untouched arrays.  A delete
removes the record's position from every scope array that holds it (so keyset cursors,
which compare ids, and offset listings, which count positions, both see the record
gone), switches the "all" scope to an explicit array of live positions, and remembers
the position as a tombstone so that single-record lookups miss it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence

__all__ = ["Tombstones", "remove_sorted"]


def remove_sorted(scope: array[int], position: int) -> bool:
    """Remove ``position`` from an ascending ``scope``; whether it was there."""
    k = bisect_left(scope, position)
    if k < len(scope) and scope[k] == position:
        del scope[k]
        return True
    return False


class Tombstones:
    """Which positions of a store are deleted, and the ascending live positions."""

    __slots__ = ("deleted", "live")

    def __init__(self) -> None:
        self.deleted: set[int] = set()
        """Positions of deleted records (empty until the first delete)."""
        self.live: array[int] | None = None
        """Ascending live positions once something was deleted; None: all of them."""

    def __len__(self) -> int:
        return len(self.deleted)

    def all_records(self, total: int) -> Sequence[int]:
        """Ascending positions of every live record of a store holding ``total`` positions."""
        live = self.live
        return range(total) if live is None else live

    def appended(self, position: int) -> None:
        """A record was added at ``position`` (the newest)."""
        if self.live is not None:
            self.live.append(position)

    def delete(self, positions: Iterable[int], total: int, scopes: Iterable[array[int]]) -> None:
        """Tombstone ``positions`` (live ones) and remove them from ``scopes`` and the live list."""
        doomed = sorted(set(positions) - self.deleted)
        if not doomed:
            return
        if self.live is None:
            self.live = array("I", range(total))
        arrays = [self.live, *scopes]
        for position in doomed:
            for scope in arrays:
                remove_sorted(scope, position)
        self.deleted.update(doomed)
