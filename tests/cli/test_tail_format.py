"""``integration-logs tail``'s pure parts: ``--since`` forms, text and JSON lines, colour."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from integration_logs_async.cli._tail_format import (
    LINE_WIDTH,
    json_line,
    parse_duration,
    shown_url,
    tail_since_arg,
    text_line,
    use_color,
)
from integration_logs_async.records import NormalizedLog

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
RED, YELLOW = "\x1b[31m", "\x1b[33m"


def _log(**fields: object) -> NormalizedLog:
    values: dict[str, object] = {
        "provider": "sendcloud",
        "id": "7",
        "integration_id": "4242",
        "job_id": None,
        "created_at": datetime(2024, 5, 1, 14, 0, 9, 500, tzinfo=UTC),
        "succeeded": False,
        "status_code": 503,
        "method": "POST",
        "url": "https://shop.example/api/orders",
        "error": "503 Service Unavailable",
        "attempt": None,
    }
    values.update(fields)
    return msgspec.convert(values, NormalizedLog)


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        (" 5M ", timedelta(minutes=5)),
    ],
)
def test_since_takes_a_duration_back_from_now(text: str, back: timedelta) -> None:
    assert parse_duration(text) == back
    assert tail_since_arg(text, now=NOW) == NOW - back


def test_since_takes_iso_with_a_timezone() -> None:
    assert tail_since_arg("2024-05-01T00:00:00Z", now=NOW) == datetime(2024, 5, 1, tzinfo=UTC)
    offset = tail_since_arg("2024-05-01T02:00:00+02:00", now=NOW)
    assert offset == datetime(2024, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("yesterday", "is neither a duration back from now (30s, 10m, 2h, 1d) nor an ISO-8601"),
        ("10", "is neither a duration"),
        ("-5m", "is neither a duration"),
        ("10 minutes", "is neither a duration"),
        ("2024-05-01T00:00:00", "needs a timezone"),
    ],
)
def test_since_refuses_other_text_in_one_line(text: str, says: str) -> None:
    assert parse_duration(text) is None
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        tail_since_arg(text, now=NOW)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_text_line_has_each_field_in_order() -> None:
    line = text_line(_log())
    assert line == (
        "2024-05-01T14:00:09Z 4242 503 POST   https://shop.example/api/orders "
        "503 Service Unavailable\n"
    )
    local = datetime(2024, 5, 1, 16, 0, 9, tzinfo=UTC).astimezone()
    assert text_line(_log(created_at=local)).startswith("2024-05-01T16:00:09Z ")  # UTC


def test_a_log_without_response_shows_dashes_for_what_is_missing() -> None:
    line = text_line(_log(status_code=None, method=None, url=None, error=None, integration_id=None))
    assert line == "2024-05-01T14:00:09Z - --- -      -\n"


def test_a_text_line_is_one_line_of_bounded_width_whatever_the_error() -> None:
    error = "Traceback:\n  line 1\r\n\tboom " + "x" * 500
    url = "https://shop.example/" + "p/" * 150
    line = text_line(_log(error=error, url=url))
    assert line.endswith("\n") and line.count("\n") == 1
    body = line[:-1]
    assert len(body) <= LINE_WIDTH
    assert "\r" not in body and "\t" not in body
    assert "Traceback: line 1 boom x" in body and body.endswith("…")
    assert "https://shop.example/p/" in body


def test_urls_lose_user_info_and_query_values() -> None:
    url = "https://user:s3cret@shop.example/admin/orders.json?access_token=tok123&page=2&flag"
    shown = shown_url(url)
    assert shown == "https://shop.example/admin/orders.json?access_token=…&page=…&flag"
    line = text_line(_log(url=url))
    assert "s3cret" not in line and "tok123" not in line and "user" not in line
    assert shown_url(None) == "-" and shown_url("") == "-"
    quoted = text_line(_log(url=url, error=f"401 Client Error: Unauthorized for url: {url}"))
    assert "s3cret" not in quoted and "tok123" not in quoted
    assert quoted.count("https://shop.example/admin/orders.json?access_token=…") == 2
    assert "pw" not in shown_url("http://u:pw@[::1") and "tok" not in shown_url("x://[::1?t=tok")


@pytest.mark.parametrize(
    ("status", "paint"),
    [(503, RED), (None, RED), (0, RED), (429, YELLOW), (404, YELLOW), (200, "")],
)
def test_colour_marks_status_and_error(status: int | None, paint: str) -> None:
    plain = text_line(_log(status_code=status))
    coloured = text_line(_log(status_code=status), color=True)
    assert "\x1b" not in plain
    if not paint:
        assert coloured == plain
        return
    shown = "---" if not status else str(status)
    assert f" {paint}{shown}\x1b[0m " in coloured
    assert f"{paint}503 Service Unavailable\x1b[0m" in coloured
    assert coloured.replace(paint, "").replace("\x1b[0m", "") == plain


def test_colour_choice_follows_the_flag_the_terminal_and_no_color() -> None:
    assert use_color("auto", isatty=True, env={})
    assert not use_color("auto", isatty=False, env={})
    assert not use_color("auto", isatty=True, env={"NO_COLOR": "1"})
    assert use_color("auto", isatty=True, env={"NO_COLOR": ""})  # empty: not set
    assert not use_color("auto", isatty=True, env={"TERM": "dumb"})
    assert use_color("always", isatty=False, env={"NO_COLOR": "1"})  # the flag wins
    assert not use_color("never", isatty=True, env={})


def test_a_json_line_is_the_normalized_log() -> None:
    log = _log(url="https://u:p@shop.example/x?token=t")
    line = json_line(log)
    assert line.endswith("\n") and line.count("\n") == 1
    data = json.loads(line)
    assert set(data) == set(NormalizedLog.__struct_fields__)
    assert data["url"] == "https://u:p@shop.example/x?token=t"  # the record, as normalized
    assert data["created_at"] == "2024-05-01T14:00:09.000500Z"
    assert msgspec.json.decode(line.encode(), type=NormalizedLog) == log
