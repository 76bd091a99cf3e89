"""The pure decisions of ``harvest --follow``: start point, kept records, watermarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from integration_logs_async.harvest import FollowError, HarvestState, Watermark
from integration_logs_async.harvest._follow_plan import (
    EPOCH,
    advance_watermarks,
    check_follow_interval,
    owned_records,
    start_since,
    stream_label,
)
from integration_logs_async.harvest._state import FollowMark, load_state, save_state
from integration_logs_async.records import RawRecord

T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)


def record(
    ident: str,
    *,
    at: datetime | None = T0,
    integration: str | None = "7",
    job: str | None = None,
) -> RawRecord:
    return RawRecord(
        raw=b'{"id":' + ident.encode() + b"}",
        id=ident,
        created_at=at,
        integration_id=integration,
        job_id=job,
    )


# --- start point -------------------------------------------------------------------------


def test_the_start_is_the_listings_head_minus_the_lookback() -> None:
    assert start_since(T0, 60, since=None) == T0 - timedelta(seconds=60)


def test_an_empty_listing_starts_from_the_beginning_or_the_harvests_since() -> None:
    assert start_since(None, 60, since=None) == EPOCH
    assert start_since(None, 60, since=T0) == T0


def test_the_harvests_since_bounds_the_start_from_below() -> None:
    later = T0 - timedelta(seconds=10)
    assert start_since(T0, 60, since=later) == later
    assert start_since(T0, 60, since=T0 - timedelta(days=1)) == T0 - timedelta(seconds=60)


def test_streams_an_interrupted_run_already_read_pull_the_start_back() -> None:
    old = Watermark(id="1", created_at=(T0 - timedelta(hours=1)).isoformat())
    newer = Watermark(id="2", created_at=(T0 - timedelta(seconds=5)).isoformat())
    unknown = Watermark(id="3")
    start = start_since(T0, 60, since=None, pending=[newer, old, unknown])
    assert start == T0 - timedelta(hours=1, seconds=60)


# --- kept records ------------------------------------------------------------------------


def test_without_integrations_every_record_is_kept() -> None:
    records = [record("1", integration=None), record("2")]
    assert owned_records(records, (), "Sendcloud /integrations/logs") == records


def test_the_chosen_integrations_records_are_kept() -> None:
    records = [record("1", integration="7"), record("2", integration="8"), record("3")]
    kept = owned_records(records, ("7",), "x")
    assert [r.id for r in kept] == ["1", "3"]


def test_a_record_naming_no_integration_stops_a_follow_of_chosen_ones() -> None:
    records = [record("1"), record("2", integration=None)]
    with pytest.raises(FollowError) as caught:
        owned_records(records, ("7", "9"), "Sendcloud /integrations/logs")
    message = str(caught.value)
    assert "Sendcloud /integrations/logs listed log 2 without its integration_id" in message
    assert "--integration 7 9" in message and "Follow without --integration" in message


# --- watermarks --------------------------------------------------------------------------


def test_stream_labels_are_the_fan_outs() -> None:
    assert stream_label("all", record("1", integration=None)) == "all"
    assert stream_label("integrations", record("1")) == "integration 7"
    assert stream_label("integrations", record("1", integration=None)) is None
    assert stream_label("jobs", record("1", job="j1")) == "integration 7 job j1"
    assert stream_label("jobs", record("1")) is None


def test_watermarks_move_to_the_newest_followed_log_and_never_back() -> None:
    marks = {"integration 7": Watermark(id="1", created_at=T0.isoformat())}
    later, late = T0 + timedelta(seconds=5), T0 - timedelta(seconds=5)
    moved = advance_watermarks(
        marks,
        "integrations",
        [
            record("2", at=later),
            record("3", at=late),  # a late arrival: older than the mark
            record("4", integration="8", at=late),
            record("5", integration=None, at=later),  # names no stream
        ],
    )
    assert moved == {
        "integration 7": Watermark(id="2", created_at=later.isoformat()),
        "integration 8": Watermark(id="4", created_at=late.isoformat()),
    }
    assert marks == {"integration 7": Watermark(id="1", created_at=T0.isoformat())}


# --- settings and state ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "lookback"), [(0, 60), (-1, 60), (float("inf"), 60), (5, -1), (True, 60)]
)
def test_bad_follow_settings_are_value_errors(interval: float, lookback: float) -> None:
    with pytest.raises(ValueError, match="follow"):
        check_follow_interval(interval, lookback)


def test_good_follow_settings_pass() -> None:
    check_follow_interval(0.01, 0)
    check_follow_interval(5, 60.0)


def test_state_files_without_a_follow_stay_as_they_were(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    state = HarvestState(fingerprint="f", out="/o")
    save_state(path, state)
    assert b"follow" not in path.read_bytes()  # omitted: older readers see the same file
    old = msgspec.json.encode({"fingerprint": "f", "out": "/o", "out_bytes": 3})
    path.write_bytes(old)
    loaded = load_state(path)
    assert loaded is not None and loaded.follow is None and loaded.out_bytes == 3
    loaded.follow = FollowMark(since=T0.isoformat(), checkpoint="abc", records=2)
    save_state(path, loaded)
    again = load_state(path)
    assert again is not None and again.follow == loaded.follow
