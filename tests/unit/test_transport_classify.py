"""The response classifier and the origin policy, without I/O: every outcome, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest
from yarl import URL

from integration_logs_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnsafeURLError,
)
from integration_logs_async._http import (
    OK,
    REAUTHENTICATE,
    Failure,
    OriginPolicy,
    Redirect,
    ResponseClassifier,
)
from integration_logs_async.errors import ProviderError

BASE = URL("https://api.test/v2")
HERE = URL("https://api.test/v2/integrations/7/logs?cursor=c1")
SECRET = "s3cr3t-token"


def parse(body: bytes) -> tuple[ProviderError, ...]:
    """A tiny provider error parser: ``{"message": ...}`` bodies, nothing else."""
    try:
        data = json.loads(body)
    except ValueError:
        return ()
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return (ProviderError(detail=data["message"], request_id=data.get("request_id")),)
    return ()


def classifier(**overrides: Any) -> ResponseClassifier:
    settings: dict[str, Any] = {
        "origin": OriginPolicy(BASE),
        "parse_errors": parse,
        "default_429_pause": 1.5,
        "retry_after_cap": 60.0,
        "redact": lambda text: text.replace(SECRET, "[REDACTED]"),
    }
    return ResponseClassifier(**{**settings, **overrides})


def classify(
    status: int,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    method: str = "GET",
    may_redirect: bool = True,
    may_reauthenticate: bool = False,
) -> object:
    return classifier().classify(
        method,
        HERE,
        status,
        headers or {},
        body,
        may_redirect=may_redirect,
        may_reauthenticate=may_reauthenticate,
    )


# --- outcomes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_is_ok(status: int) -> None:
    assert classify(status, body=b"not even json") is OK


@pytest.mark.parametrize(
    ("status", "location", "target"),
    [
        (301, "/v2/integrations/", "https://api.test/v2/integrations/"),
        (302, "https://api.test/v2/other", "https://api.test/v2/other"),
        (303, "logs?cursor=c2", "https://api.test/v2/integrations/7/logs?cursor=c2"),
        (307, "?cursor=c3", "https://api.test/v2/integrations/7/logs?cursor=c3"),
        (308, "https://API.test:443/v2/x", "https://API.test:443/v2/x"),  # kept as sent
        (302, "/v2/a path", "https://api.test/v2/a%20path"),  # requoted, as aiohttp does
    ],
)
def test_3xx_on_origin_is_a_redirect(status: int, location: str, target: str) -> None:
    outcome = classify(status, {"Location": location})
    assert isinstance(outcome, Redirect)
    assert outcome.target == URL(target)


@pytest.mark.parametrize(
    ("method", "may_redirect"), [("GET", False), ("POST", True), ("PATCH", True)]
)
def test_3xx_without_budget_or_for_a_non_get_fails(method: str, may_redirect: bool) -> None:
    outcome = classify(
        302, {"Location": "/v2/x"}, b"moved", method=method, may_redirect=may_redirect
    )
    assert isinstance(outcome, Failure)
    assert type(outcome.error) is APIError
    assert (outcome.error.status, outcome.error.method) == (302, method)
    assert outcome.error.excerpt == "moved"


def test_3xx_without_location_fails() -> None:
    outcome = classify(304)
    assert isinstance(outcome, Failure)
    assert outcome.error.status == 304


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("https://evil.test/steal", "outside the configured origin"),
        ("http://api.test/v2/x", "outside the configured origin"),  # scheme is origin too
        ("https://api.test:8443/v2/x", "outside the configured origin"),
        ("//evil.test/x", "outside the configured origin"),
        ("https://user:pw@api.test/v2/x", "credentials of its own"),
        ("https://api.test:99999/x", "not a valid URL"),
    ],
)
@pytest.mark.parametrize("may_redirect", [True, False])
def test_3xx_off_origin_raises_even_when_not_followed(
    location: str, why: str, may_redirect: bool
) -> None:
    with pytest.raises(UnsafeURLError, match=why) as info:
        classify(302, {"Location": location}, may_redirect=may_redirect)
    assert str(info.value).startswith("refusing to follow redirect to ")
    assert "pw" not in str(info.value)


def test_401_with_a_replaceable_token_reauthenticates() -> None:
    assert classify(401, may_reauthenticate=True) is REAUTHENTICATE


def test_401_without_a_replaceable_token_fails() -> None:
    outcome = classify(401, body=b'{"message": "bad token"}')
    assert isinstance(outcome, Failure)
    assert type(outcome.error) is AuthenticationError
    assert outcome.error.errors[0].detail == "bad token"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIError),
        (422, BadRequestError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (599, ServerError),
    ],
)
def test_other_statuses_fail_with_their_error_class(status: int, error: type[APIError]) -> None:
    outcome = classify(status, may_reauthenticate=True)
    assert isinstance(outcome, Failure)
    assert type(outcome.error) is error
    assert (outcome.pause, outcome.pauses_client) == (None, False)
    assert outcome.error.url == str(HERE)


@pytest.mark.parametrize(
    ("headers", "retry_after", "pause", "pauses"),
    [
        ({}, None, 1.5, True),  # no Retry-After: the default pause
        ({"Retry-After": "2"}, 2.0, 2.0, True),
        ({"retry-after-ms": "250"}, 0.25, 0.25, True),
        ({"Retry-After": "3600"}, 3600.0, 3600.0, False),  # above the cap: raise, not wait
        ({"Retry-After": "soon"}, None, 1.5, True),  # unparseable: as if absent
    ],
)
def test_429_is_a_rate_limit_error_with_its_pause(
    headers: dict[str, str], retry_after: float | None, pause: float, pauses: bool
) -> None:
    outcome = classify(429, headers)
    assert isinstance(outcome, Failure)
    assert type(outcome.error) is RateLimitError
    assert outcome.error.retry_after == retry_after
    assert (outcome.pause, outcome.pauses_client) == (pause, pauses)


def test_503_keeps_its_retry_after_without_pausing_the_client() -> None:
    outcome = classify(503, {"Retry-After": "4"})
    assert isinstance(outcome, Failure)
    assert outcome.error.retry_after == 4.0
    assert outcome.pause is None


@pytest.mark.parametrize(
    ("headers", "body", "request_id"),
    [
        ({"X-Request-Id": "hdr-1"}, b'{"message": "m", "request_id": "body-1"}', "hdr-1"),
        ({}, b'{"message": "m", "request_id": "body-1"}', "body-1"),
        ({}, b'{"message": "m"}', None),
    ],
)
def test_request_id_from_the_header_or_else_the_body(
    headers: dict[str, str], body: bytes, request_id: str | None
) -> None:
    outcome = classify(500, headers, body)
    assert isinstance(outcome, Failure)
    assert outcome.error.request_id == request_id


@pytest.mark.parametrize(
    ("body", "excerpt"),
    [
        (b"", ""),
        (b"<html>\n  <b>Bad   Gateway</b>\n</html>", "<html> <b>Bad Gateway</b> </html>"),
        (b"\xff\xfe not utf-8", "\ufffd\ufffd not utf-8"),
        (b'{"unexpected": "shape"}', '{"unexpected": "shape"}'),
        (b"[1, 2", "[1, 2"),
        (f"token {SECRET} leaked".encode(), "token [REDACTED] leaked"),
    ],
)
def test_odd_bodies_become_a_redacted_excerpt(body: bytes, excerpt: str) -> None:
    outcome = classify(502, body=body)
    assert isinstance(outcome, Failure)
    assert outcome.error.errors == ()
    assert outcome.error.excerpt == excerpt
    assert SECRET not in str(outcome.error)


def test_parsed_errors_replace_the_excerpt() -> None:
    outcome = classify(400, body=b'{"message": "page size too large"}')
    assert isinstance(outcome, Failure)
    assert outcome.error.excerpt == ""
    assert "page size too large" in str(outcome.error)


def test_the_error_parser_is_the_transports_choice() -> None:
    def nothing(body: bytes) -> tuple[ProviderError, ...]:
        return ()

    outcome = classifier(parse_errors=nothing).classify(
        "GET", HERE, 400, {}, b'{"message": "m"}', may_redirect=True, may_reauthenticate=False
    )
    assert isinstance(outcome, Failure)
    assert outcome.error.excerpt == '{"message": "m"}'


def test_the_request_url_is_redacted_in_errors() -> None:
    outcome = classifier().classify(
        "GET",
        URL("https://api.test/v2/x?access_token=abc&page=2"),
        500,
        {},
        b"",
        may_redirect=True,
        may_reauthenticate=False,
    )
    assert isinstance(outcome, Failure)
    assert "abc" not in outcome.error.url
    assert "page=2" in outcome.error.url


# --- the origin policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path_or_url", "resolved"),
    [
        ("/integrations", "https://api.test/v2/integrations"),
        ("integrations/7/logs", "https://api.test/v2/integrations/7/logs"),
        ("https://api.test/v2/x?cursor=a%2Fb", "https://api.test/v2/x?cursor=a%2Fb"),
        ("https://api.test:443/v2/x", "https://api.test:443/v2/x"),  # the same origin
    ],
)
def test_resolve(path_or_url: str, resolved: str) -> None:
    assert OriginPolicy(BASE).resolve(path_or_url) == URL(resolved, encoded=True)


@pytest.mark.parametrize(
    "url", ["https://evil.test/v2/x", "http://api.test/v2/x", "https://u:p@api.test/v2/x"]
)
def test_resolve_refuses_other_origins(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="refusing to follow URL"):
        OriginPolicy(BASE).resolve(url)


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        ("https://api.test/v2/logs?cursor=c2", "https://api.test/v2/logs?cursor=c2"),
        ("/v2/logs?cursor=c2", "https://api.test/v2/logs?cursor=c2"),
        ("?cursor=c2", "https://api.test/v2/integrations/7/logs?cursor=c2"),
        ("../8/logs", "https://api.test/v2/integrations/8/logs"),
        ("https://API.TEST/v2/logs", "https://API.TEST/v2/logs"),  # the same origin
    ],
)
def test_follow_resolves_a_link_against_the_page_that_carried_it(link: str, followed: str) -> None:
    assert OriginPolicy(BASE).follow(HERE, link) == URL(followed, encoded=True)


@pytest.mark.parametrize(
    ("link", "why"),
    [
        ("https://evil.test/v2/logs", "outside the configured origin"),
        ("//evil.test/v2/logs", "outside the configured origin"),
        ("https://api.test@evil.test/v2/logs", "outside the configured origin"),
        ("https://me:pw@api.test/v2/logs", "credentials of its own"),
        ("http://[::1", "not a valid URL"),
    ],
)
def test_follow_refuses_unsafe_links(link: str, why: str) -> None:
    with pytest.raises(UnsafeURLError, match=why) as info:
        OriginPolicy(BASE, redact=str.upper).follow(HERE, link)
    assert str(info.value).startswith("refusing to follow next link ")
    assert info.value.expected_origin == "https://api.test"


def test_check() -> None:
    policy = OriginPolicy(BASE)
    policy.check(URL("https://api.test/anything"), context="URL")
    with pytest.raises(UnsafeURLError, match="refusing to follow URL /relative"):
        policy.check(URL("/relative"), context="URL")
