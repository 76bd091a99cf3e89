"""The tail's window and poll judgement (pure): what is new, when a walk stops, what is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integration_logs_async import RawRecord, TailGapError
from integration_logs_async._tail import PollScan, TailState, account, advance, prune

LOOKBACK = timedelta(seconds=60)
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def rec(ident: int | str, second: float) -> RawRecord:
    """A raw log created ``second`` seconds after T0."""
    return RawRecord(raw=b"{}", id=str(ident), created_at=T0 + timedelta(seconds=second))


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


def scan(state: TailState, *pages: list[RawRecord]) -> tuple[PollScan, list[bool]]:
    """Feed ``pages`` while the scan asks for more; the answers given."""
    poll = PollScan(state, LOOKBACK, where="test /logs")
    answers = []
    for page in pages:
        more = poll.feed(page)
        answers.append(more)
        if not more:
            break
    return poll, answers


def started(newest: float, known: dict[str, float], since: datetime | None = None) -> TailState:
    return TailState(
        since=since,
        newest=at(newest),
        known={i: at(s) for i, s in known.items()},
        started=True,
    )


def ids(records: list[RawRecord]) -> list[str]:
    return [r.id for r in records]


# --- the first poll ------------------------------------------------------------------------------


def test_a_baseline_yields_nothing_and_accounts_for_the_window() -> None:
    page1 = [rec(10, 1000), rec(9, 990), rec(8, 950), rec(7, 900), rec(6, 100)]
    poll, answers = scan(TailState(), page1, [rec(5, 50)])
    result = poll.result()
    assert answers == [False]  # page 1 reached below the floor: one request
    assert poll.floor == at(940)  # the newest on the first page minus the look-back
    assert result.baseline and result.new == []
    assert set(result.walked) == {"10", "9", "8"}  # the rest is below the floor
    state = advance(TailState(), result.walked, LOOKBACK)
    assert state.started and state.newest == at(1000)
    assert set(state.known) == {"10", "9", "8"}


def test_a_baseline_of_an_empty_listing_then_everything_is_new() -> None:
    poll, _ = scan(TailState(), [])
    state = advance(TailState(), poll.result().walked, LOOKBACK)
    assert state.started and state.newest is None and state.floor(LOOKBACK) is None
    poll, answers = scan(state, [rec(2, 5), rec(1, 1)])
    assert answers == [True]  # no floor: the walk goes on to the listing's end
    assert ids(poll.result().new) == ["1", "2"]


def test_since_yields_from_then_on_oldest_first_and_reads_one_page_past_the_crossing() -> None:
    since = at(500)
    state = TailState(since=since)
    poll, answers = scan(
        state,
        [rec(9, 900), rec(8, 800)],
        [rec(7, 700), rec(6, 600)],
        [rec(5, 500), rec(4, 400)],  # crosses since, holds new ones and nothing known
        [rec(3, 300), rec(2, 200)],
    )
    assert answers == [True, True, True, False]
    assert ids(poll.result().new) == ["5", "6", "7", "8", "9"]


def test_a_first_poll_with_since_sees_older_logs_out_of_order_without_a_gap() -> None:
    # A log older than since listed above newer ones is history, not a late arrival.
    poll, answers = scan(TailState(since=at(500)), [rec(3, 100), rec(2, 600), rec(1, 50)])
    assert ids(poll.result().new) == ["2"]
    assert answers == [True]  # new and nothing known on the crossing page: one more page


# --- later polls -------------------------------------------------------------------------------


def test_an_idle_poll_reads_one_page() -> None:
    state = started(1000, {"10": 1000, "9": 990})
    poll, answers = scan(state, [rec(10, 1000), rec(9, 990), rec(8, 900)], [rec(7, 800)])
    assert answers == [False]
    assert poll.result().new == []


def test_new_logs_come_oldest_first_and_ties_keep_the_listing_order_reversed() -> None:
    state = started(1000, {"10": 1000})
    page = [rec(13, 1010), rec(12, 1005), rec(11, 1005), rec(10, 1000), rec(1, 10)]
    poll, _ = scan(state, page)
    assert ids(poll.result().new) == ["11", "12", "13"]


def test_a_burst_of_several_pages_is_walked_page_by_page() -> None:
    state = started(1000, {"10": 1000})
    pages = [
        [rec(20, 1100), rec(19, 1090)],
        [rec(18, 1080), rec(17, 1070)],
        [rec(16, 1060), rec(10, 1000)],  # known, but still above the floor: keep going
        [rec(9, 500), rec(8, 400)],
    ]
    poll, answers = scan(state, *pages)
    assert answers == [True, True, True, False]
    assert ids(poll.result().new) == ["16", "17", "18", "19", "20"]


def test_a_deleted_boundary_record_does_not_make_the_walk_read_the_store() -> None:
    # The log last yielded ("10") is gone: timestamps end the walk anyway.
    state = started(1000, {"10": 1000, "9": 990})
    poll, answers = scan(state, [rec(11, 1005), rec(8, 100)], [rec(7, 90)], [rec(6, 80)])
    assert answers == [True, False]  # new, nothing known on the crossing page: one more page
    assert ids(poll.result().new) == ["11"]
    poll, answers = scan(state, [rec(11, 1005), rec(9, 990), rec(8, 100)], [rec(7, 90)])
    assert answers == [False]


def test_a_log_seen_twice_in_one_poll_counts_once() -> None:
    state = started(1000, {"10": 1000})
    poll, _ = scan(state, [rec(12, 1020), rec(11, 1010)], [rec(11, 1010), rec(10, 1000)])
    assert ids(poll.result().new) == ["11", "12"]


def test_a_late_log_within_the_look_back_is_new() -> None:
    state = started(1000, {"10": 1000, "9": 990})
    # Listed at the head (insertion order) with an older created_at, still above the floor.
    poll, _ = scan(state, [rec(11, 950), rec(10, 1000), rec(9, 990), rec(8, 100)])
    assert ids(poll.result().new) == ["11"]


def test_a_log_later_than_the_look_back_above_newer_logs_is_a_gap() -> None:
    state = started(1000, {"10": 1000, "9": 990})
    with pytest.raises(TailGapError) as caught:
        scan(state, [rec(11, 500), rec(10, 1000), rec(9, 990)])
    message = str(caught.value)
    assert "log 11 of test /logs" in message and "above log 10" in message
    assert "lookback" in message


def test_an_unknown_old_log_below_every_newer_one_is_not_a_gap() -> None:
    state = started(1000, {"10": 1000})
    poll, answers = scan(state, [rec(10, 1000), rec(3, 300), rec(2, 200)])
    assert answers == [False] and poll.result().new == []


def test_a_gap_hidden_at_the_bottom_of_a_page_is_found_on_the_next_one() -> None:
    # A too-late log at the bottom of a page of new logs: the walk goes on, finds newer logs
    # below it, and says so rather than stopping above them.
    state = started(1000, {"10": 1000})
    with pytest.raises(TailGapError):
        scan(state, [rec(13, 1030), rec(12, 1020), rec(4, 400)], [rec(11, 1010), rec(10, 1000)])


def test_a_log_without_created_at_cannot_be_placed() -> None:
    state = started(1000, {"10": 1000})
    with pytest.raises(TailGapError, match="no created_at"):
        scan(state, [RawRecord(raw=b"{}", id="11")])


# --- what the state keeps ----------------------------------------------------------------------


def test_account_moves_newest_and_remembers_the_log() -> None:
    state = started(1000, {"10": 1000})
    state = account(state, rec(11, 1010))
    assert state.newest == at(1010) and "11" in state.known
    late = account(state, rec(12, 990))  # a late log does not move newest back
    assert late.newest == at(1010) and "12" in late.known


def test_prune_drops_known_logs_below_the_floor_unless_listed_above_newer_ones() -> None:
    state = started(1000, {"10": 1000, "9": 950, "8": 900, "7": 800})
    kept = prune(state, {"7"}, LOOKBACK)
    assert set(kept.known) == {"10", "9", "7"}
    assert prune(kept, {"7"}, LOOKBACK) is kept  # nothing to drop: the same state


def test_a_known_log_out_of_order_is_kept_while_it_sits_above_newer_logs() -> None:
    # "5" was yielded as a late log; it is listed above newer logs and now below the floor.
    state = started(1100, {"11": 1100, "10": 1060, "5": 1000})
    poll, _ = scan(state, [rec(11, 1100), rec(5, 1000), rec(10, 1060), rec(1, 10)])
    result = poll.result()
    assert result.new == [] and set(result.walked) == {"5"}
    after = advance(state, result.walked, LOOKBACK)
    assert "5" in after.known  # so the next poll does not take it for a gap
    poll, _ = scan(after, [rec(11, 1100), rec(5, 1000), rec(10, 1060), rec(1, 10)])
    assert poll.result().new == []


def test_the_floor_is_the_later_of_since_and_the_look_back() -> None:
    assert TailState().floor(LOOKBACK) is None
    assert TailState(since=at(5)).floor(LOOKBACK) == at(5)
    assert started(1000, {}).floor(LOOKBACK) == at(940)
    assert started(1000, {}, since=at(970)).floor(LOOKBACK) == at(970)
    assert started(1000, {}, since=at(10)).floor(LOOKBACK) == at(940)


def test_known_stays_bounded_by_the_window_over_many_polls() -> None:
    state = advance(TailState(), {}, LOOKBACK)
    listing: list[RawRecord] = []
    for n in range(1, 2001):  # one new log a second, one poll each
        listing.insert(0, rec(n, n))
        poll, _ = scan(state, listing[:50])
        result = poll.result()
        state = advance(state, result.walked, LOOKBACK)
        for record in result.new:
            state = account(state, record)
        assert ids(result.new) == [str(n)]
    assert len(state.known) <= 62  # the last 60 s of logs, and the ones at its edge


# --- head polls and sweeps -----------------------------------------------------------------------


def head(state: TailState, *pages: list[RawRecord]) -> tuple[PollScan, list[bool]]:
    """Like :func:`scan`, for a head poll (not a sweep)."""
    poll = PollScan(state, LOOKBACK, where="test /logs", deep=False)
    answers = []
    for page in pages:
        more = poll.feed(page)
        answers.append(more)
        if not more:
            break
    return poll, answers


def test_a_head_poll_stops_at_the_first_known_log_however_wide_the_window() -> None:
    # Every log of the first two pages is within the look-back window.
    state = started(1000, {"10": 1000, "9": 999, "8": 998, "7": 997})
    page1 = [rec(11, 1001), rec(10, 1000), rec(9, 999)]
    page2 = [rec(8, 998), rec(7, 997), rec(6, 10)]
    poll, answers = head(state, page1, page2)
    assert answers == [False] and ids(poll.result().new) == ["11"]
    poll, answers = scan(state, page1, page2)  # a sweep reads on to the floor
    assert answers == [True, False]


def test_a_head_poll_walks_a_burst_until_it_meets_a_known_log() -> None:
    state = started(1000, {"10": 1000})
    pages = [[rec(14, 1040), rec(13, 1030)], [rec(12, 1020), rec(11, 1010)], [rec(10, 1000)]]
    poll, answers = head(state, *pages)
    assert answers == [True, True, False]
    assert ids(poll.result().new) == ["11", "12", "13", "14"]


def test_a_sweep_finds_a_late_log_filed_below_newer_ones() -> None:
    # A listing sorted by created_at files the late "12" (990) below the known "10" (1000).
    state = started(1000, {"10": 1000, "9": 980})
    page1 = [rec(10, 1000), rec(12, 990), rec(9, 980)]
    page2 = [rec(8, 10)]
    poll, _ = head(state, page1, page2)
    assert poll.result().new == [rec(12, 990)]  # on the page a head poll reads anyway
    poll, _ = head(state, [rec(10, 1000)], [rec(12, 990), rec(9, 980)], page2)
    assert poll.result().new == []  # one page further down: only a sweep goes there
    poll, _ = scan(state, [rec(10, 1000)], [rec(12, 990), rec(9, 980)], page2)
    assert ids(poll.result().new) == ["12"]


def test_a_baselines_floor_becomes_the_start_so_a_wider_look_back_yields_nothing_older() -> None:
    listing = [rec(10, 1000), rec(9, 990), rec(8, 900), rec(7, 800)]
    poll, _ = scan(TailState(), listing)
    result = poll.result()
    assert result.start == at(940)
    state = advance(TailState(), result.walked, LOOKBACK, start=result.start)
    assert state.since == at(940)
    wide = timedelta(hours=1)  # resumed with a wider look-back
    poll = PollScan(state, wide, where="test /logs")
    poll.feed(listing)
    assert poll.result().new == []  # "8" and "7" were there before the tail started
    poll = PollScan(state, wide, where="test /logs")
    poll.feed([rec(11, 1010), rec(12, 950), *listing])
    assert ids(poll.result().new) == ["12", "11"]  # a late log after the start still counts
