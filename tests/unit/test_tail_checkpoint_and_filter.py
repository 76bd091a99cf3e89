"""The tail's resume token and its client-side filters (pure)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from integration_logs_async import LogFilter, RawRecord
from integration_logs_async._paging import CursorPosition, encode_checkpoint
from integration_logs_async._tail import (
    Status,
    TailState,
    decode_tail_checkpoint,
    encode_tail_checkpoint,
    parse_status,
    status_matches,
)
from integration_logs_async.records import NormalizedLog

T0 = datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC)

# --- checkpoints ---------------------------------------------------------------------------------


def test_a_checkpoint_round_trips_exactly() -> None:
    state = TailState(
        since=T0 - timedelta(days=1),
        newest=T0,
        known={"a": T0, "42": T0 - timedelta(microseconds=1)},
        started=True,
    )
    token = encode_tail_checkpoint("sendcloud", "/integrations/logs", state)
    assert "=" not in token
    back = decode_tail_checkpoint(token, provider="sendcloud", listing="/integrations/logs")
    assert back == state


def test_a_fresh_state_round_trips() -> None:
    token = encode_tail_checkpoint("elasticpath", "/v2/integrations/logs", TailState())
    back = decode_tail_checkpoint(token, provider="elasticpath", listing="/v2/integrations/logs")
    assert back == TailState()


def test_a_checkpoint_of_another_listing_or_provider_is_refused() -> None:
    token = encode_tail_checkpoint("sendcloud", "/integrations/logs", TailState())
    with pytest.raises(ValueError, match="same client and integration_id"):
        decode_tail_checkpoint(token, provider="sendcloud", listing="/integrations/5/logs")
    with pytest.raises(ValueError, match="belongs to the tail of sendcloud"):
        decode_tail_checkpoint(token, provider="sendcloud/v3", listing="/integrations/logs")


def test_a_stream_checkpoint_is_not_a_tail_checkpoint() -> None:
    stream_token = encode_checkpoint("sendcloud", "/integrations/logs", CursorPosition())
    with pytest.raises(ValueError, match="not a tail checkpoint"):
        decode_tail_checkpoint(stream_token, provider="sendcloud", listing="/integrations/logs")


def _token(document: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "taken from tail.checkpoint"),
        ("%%%", "not a tail checkpoint"),
        (_token({"v": 1}), "not a tail checkpoint"),
        (
            _token({"v": 1, "kind": "stream", "provider": "sendcloud", "listing": "/x"}),
            "not a tail's",
        ),
        (
            _token({"v": 9, "kind": "tail", "provider": "sendcloud", "listing": "/x"}),
            "version 9",
        ),
        (
            _token(
                {"v": 1, "kind": "tail", "provider": "sendcloud", "listing": "/x", "newest": 10**20}
            ),
            "impossible time",
        ),
    ],
)
def test_a_malformed_checkpoint_is_refused_with_what_to_do(token: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_tail_checkpoint(token, provider="sendcloud", listing="/x")


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "parsed"),
    [(503, 503), ("503", 503), ("5xx", "5xx"), (" 4XX ", "4xx"), ("none", "none")],
)
def test_statuses_parse(given: int | str, parsed: int | str) -> None:
    assert parse_status(given) == parsed


@pytest.mark.parametrize("given", [99, 600, "6xx", "5x", "", "ok", True, 5.0])
def test_bad_statuses_are_refused_with_the_accepted_forms(given: object) -> None:
    with pytest.raises(ValueError, match=r"code \(503\), a class \(5xx\) or none"):
        parse_status(given)  # type: ignore[arg-type]


def test_status_matching() -> None:
    statuses: frozenset[Status] = frozenset({"5xx", 404})
    assert status_matches(503, statuses) and status_matches(404, statuses)
    assert not status_matches(400, statuses) and not status_matches(None, statuses)
    assert status_matches(None, frozenset({"none"}))
    assert status_matches(0, frozenset({"none"}))  # Elastic Path's "no response"
    assert not status_matches(0, frozenset({"5xx"}))


def _normalizer(
    status: int | None, succeeded: bool | None, calls: list[str]
) -> Callable[[RawRecord], NormalizedLog]:
    def normalize(record: RawRecord) -> NormalizedLog:
        calls.append(record.id)
        return NormalizedLog(
            provider="p",
            id=record.id,
            integration_id=record.integration_id,
            job_id=None,
            created_at=None,
            succeeded=succeeded,
            status_code=status,
            method=None,
            url=None,
            error=None,
            attempt=None,
        )

    return normalize


def test_an_empty_filter_keeps_everything_without_reading_fields() -> None:
    calls: list[str] = []
    keep = LogFilter.of()
    assert keep.empty
    assert keep.keeps(RawRecord(raw=b"{}", id="1"), _normalizer(200, True, calls))
    assert calls == []


def test_integration_ids_filter_on_the_owner_only() -> None:
    calls: list[str] = []
    keep = LogFilter.of(integration_ids=[7, "8"])
    normalize = _normalizer(500, False, calls)
    assert keep.keeps(RawRecord(raw=b"{}", id="1", integration_id="7"), normalize)
    assert not keep.keeps(RawRecord(raw=b"{}", id="2", integration_id="9"), normalize)
    assert not keep.keeps(RawRecord(raw=b"{}", id="3"), normalize)  # owner unknown
    assert calls == []  # no field was needed


def test_failed_only_and_statuses() -> None:
    calls: list[str] = []
    record = RawRecord(raw=b"{}", id="1")
    assert not LogFilter.of(failed_only=True).keeps(record, _normalizer(200, True, calls))
    assert LogFilter.of(failed_only=True).keeps(record, _normalizer(200, None, calls))
    assert LogFilter.of(status="5xx").keeps(record, _normalizer(502, False, calls))
    assert not LogFilter.of(status=["4xx", 429]).keeps(record, _normalizer(502, False, calls))
    assert LogFilter.of(status=["none"]).keeps(record, _normalizer(None, False, calls))


def test_filter_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="failed_only"):
        LogFilter.of(failed_only="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not an HTTP status"):
        LogFilter.of(status=["bad"])
