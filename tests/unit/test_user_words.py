"""Messages in the user's words: pure functions behind the CLI's and the library's text."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from yarl import URL

from integration_logs_async import (
    ClientConfig,
    FanOutError,
    NotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    TransportError,
)
from integration_logs_async._http._transport_errors import describe_transport_error, note_gave_up
from integration_logs_async.cli._clients import credentials_note
from integration_logs_async.cli._integrations import format_table
from integration_logs_async.cli._messages import in_cli_words
from integration_logs_async.events import TransportStats
from integration_logs_async.harvest._progress import (
    PACED_NOTE,
    PAUSED_NOTE,
    HarvestCounters,
    Waits,
    format_status,
    limiting_note,
)
from integration_logs_async.providers import IntegrationSummary as IntegrationRow

URL_ = URL("http://127.0.0.1:8123/v2/integrations")


def test_settings_become_flags_but_urls_stay_as_they_are() -> None:
    text = (
        "GET http://h/x?rate_limit=1&base_url=2: no success within request_deadline=3 s; "
        "raise max_attempts, connect_timeout or read_timeout; check base_url; lower rate_limit. "
        "Use https, or pass allow_insecure_http=True if you really mean it. my_base_url"
    )
    assert in_cli_words(text) == (
        "GET http://h/x?rate_limit=1&base_url=2: no success within --request-deadline=3 s; "
        "raise --max-attempts, --connect-timeout or --read-timeout; check --base-url; lower "
        "--rate-limit. Use https, or pass --allow-insecure-http if you really mean it. "
        "my_base_url"
    )


def test_paths_and_quoted_names_are_left_alone() -> None:
    for text in (
        "cannot write 'rate_limit.jsonl': Permission denied",
        "state file /data/base_url/x.json is not a harvest state",
        "no such file: rate_limit/out.jsonl",
    ):
        assert in_cli_words(text) == text
    assert in_cli_words("Check base_url.") == "Check --base-url."


def test_library_hints_read_as_flags() -> None:
    limited = RateLimitError(status=429, method="GET", url="http://h/x", excerpt="slow down")
    assert in_cli_words(str(limited)).endswith(
        "Lower --rate-limit or --concurrency, or retry later."
    )
    large = ResponseTooLargeError(method="GET", url="http://h/x?page_size=5", status=200, limit=9)
    text = in_cli_words(str(large))
    assert "http://h/x?page_size=5" in text and "Lower --page-size if the provider" in text


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("404: Not Found", "HTTP 404: Not Found. "),
        ("404 Not Found", "HTTP 404: Not Found. "),
        ("404", "HTTP 404: 404. "),  # nothing else to say: kept
        ("4040 records", "HTTP 404: 4040 records. "),
        ("Not Found", "HTTP 404: Not Found. "),
    ],
)
def test_the_status_is_not_repeated(body: str, shown: str) -> None:
    exc = NotFoundError(status=404, method="GET", url="http://h/x", excerpt=body)
    assert f"GET http://h/x -> {shown}" in str(exc)


def test_transport_errors_name_host_port_and_the_setting() -> None:
    cfg = ClientConfig(connect_timeout=2.5)
    key = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 8123, False, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
    reason, advice = describe_transport_error(refused, URL_, cfg)
    assert reason == "cannot connect to 127.0.0.1:8123: connection refused"
    assert advice.startswith("The server is unreachable: check that base_url names the right")

    dns = aiohttp.ClientConnectorError(key, socket.gaierror(-2, "Name or service not known"))
    reason, advice = describe_transport_error(dns, URL_, cfg)
    assert reason == "cannot resolve the host name '127.0.0.1'" and "DNS" in advice

    timeout_cls = getattr(aiohttp, "ConnectionTimeoutError", None)
    if timeout_cls is not None:
        reason, advice = describe_transport_error(timeout_cls("x"), URL_, cfg)
        assert reason == "no connection to 127.0.0.1:8123 within connect_timeout=2.5 s"
        assert advice.endswith("raise connect_timeout.")

    reason, advice = describe_transport_error(TimeoutError(), URL_, cfg)
    assert reason == "timed out waiting for the server at 127.0.0.1:8123"
    assert "raise connect_timeout or read_timeout" in advice


def test_the_message_says_when_retries_ran_out() -> None:
    exc = TransportError("GET http://h/x: cannot connect. Check it.")
    note_gave_up(exc, 4)
    assert str(exc) == (
        "GET http://h/x: cannot connect. Check it. Gave up after 4 attempts "
        "(max_attempts=4); raise max_attempts to keep trying longer."
    )


def test_one_failed_stream_is_named_once() -> None:
    assert str(FanOutError({"integration 7": ValueError("boom")})) == "integration 7: boom"


def test_what_limits_the_rate() -> None:
    start = Waits(requests=10, paced=2, paused=0, rate_limited=0)
    assert limiting_note(start, Waits(20, 8, 0, 0)) == PACED_NOTE  # 6 of 10 waited
    assert limiting_note(start, Waits(20, 5, 0, 0)) is None  # 3 of 10
    assert limiting_note(start, Waits(10, 2, 0, 0)) is None  # no request at all
    assert limiting_note(start, Waits(20, 12, 0, 1)) == PAUSED_NOTE  # a 429 wins
    assert limiting_note(start, Waits(20, 2, 3, 0)) == PAUSED_NOTE
    line = format_status(HarvestCounters(records=5), TransportStats(requests=3), note="x y")
    assert line.startswith("5 records, 0 pages, 3 requests, ") and line.endswith(" s; x y")


def test_the_table_aligns_wide_and_missing_values() -> None:
    rows = [
        IntegrationRow(1, "東京ストア", "shopify", "ok"),
        IntegrationRow(22, None, "x\ny", "failing since 2024-05-01T00:00:00+00:00"),
    ]
    assert format_table(rows) == (
        "id  name        type     status\n"
        "1   東京ストア  shopify  ok\n"
        "22  -           x y      failing since 2024-05-01T00:00:00+00:00\n"
    )
    assert format_table([]) == "id  name  type  status\n"


def test_the_credentials_note_names_variables_only() -> None:
    env = {
        "SENDCLOUD_PUBLIC_KEY": "pk-1",
        "SENDCLOUD_SECRET_KEY": "sk-2",
        "SENDCLOUD_CLIENT_ID": "ci-3",
        "SENDCLOUD_CLIENT_SECRET": "cs-4",
    }
    note = credentials_note("sendcloud", env)
    assert note is not None and "\n" not in note
    assert note.startswith("sendcloud: using HTTP Basic credentials (SENDCLOUD_PUBLIC_KEY")
    assert not any(value in note for value in env.values())
    assert credentials_note("sendcloud", {**env, "SENDCLOUD_CLIENT_SECRET": ""}) is None
    assert credentials_note("elasticpath", env) is None
