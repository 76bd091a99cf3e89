"""Bad input: arbitrary and mutated response bodies, and bad settings and arguments.

Bodies (property-based, hypothesis): wrong types, missing required fields, huge numbers,
deep nesting, non-UTF-8, empty, HTML, truncated, bit-flipped. A page decoder either returns
the whole page or raises one of the decode failures the transport turns into
:class:`DecodeError` (with method, URL, status and excerpt) - nothing else ever comes out,
and no record of a page that failed to decode is ever yielded.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from integration_logs_async import (
    APIError,
    BasicAuth,
    BearerToken,
    ClientConfig,
    ClientCredentials,
    DecodeError,
    ElasticPathClient,
    PaginationError,
    SendcloudClient,
    TransportError,
    UnsafeURLError,
)
from integration_logs_async._http._response import DECODE_FAILURES as _DECODE_FAILURES
from integration_logs_async._http._retry import parse_retry_after
from integration_logs_async._http._tokens import parse_token_response
from integration_logs_async.emulator import EmulatorConfig
from integration_logs_async.emulator._store import Store
from integration_logs_async.errors import excerpt
from integration_logs_async.providers.sendcloud._errors import parse_errors as parse_error_body
from integration_logs_async.providers.sendcloud._models import CursorPage, SendcloudIntegrationLog

SC_BASE = "https://panel.sendcloud.sc/api/v2"
SC_LOGS = SC_BASE + "/integrations/logs"
SC_PAGE_2 = SC_LOGS + "?cursor=page-2"
EP_BASE = "https://useast.api.elasticpath.com"
EP_LOGS = EP_BASE + "/v2/integrations/logs"
EP_TOKEN = EP_BASE + "/oauth/access_token"
PASSWORD = "pw-Zq9-unlikely"
NO_RETRIES: dict[str, Any] = {"rate_limit": 0, "max_attempts": 1}

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same examples on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- realistic templates, from the emulator's synthetic store --------------------------------

_STORE = Store(EmulatorConfig(seed=1, integrations=2, jobs_per_integration=2, logs=8))
SC_RECORDS = [json.loads(b) for b in _STORE.sendcloud_logs[:3]]
SC_RECORDS_2 = [json.loads(b) for b in _STORE.sendcloud_logs[3:6]]
EP_RECORDS = [json.loads(b) for b in _STORE.elasticpath_logs[:3]]
SC_INTEGRATIONS = [json.loads(i.json) for i in _STORE.sendcloud.integrations]

TEMPLATES: dict[str, Any] = {
    "sendcloud-page": {"next": SC_PAGE_2, "previous": None, "results": SC_RECORDS},
    "sendcloud-integrations": SC_INTEGRATIONS,
    "elasticpath-page": {
        "data": EP_RECORDS,
        "links": {"current": EP_LOGS, "next": None},
        "meta": {"limit": 25, "offset": 0, "current": 1, "total": 1},
        "results": {"total": len(EP_RECORDS)},
    },
    "token": {"access_token": "tok-123", "expires_in": 3600, "token_type": "Bearer"},
}

# --- body strategies -----------------------------------------------------------------------

WRONG_VALUES: list[object] = [
    None,
    True,
    0,
    -1,
    10**30,
    -(10**19),
    1.5e308,
    "",
    "x",
    "2024-99-99T99:99:99Z",
    [],
    {},
    [1, "a", None],
    {"id": {}},
    "__DEEP__",
    "__HUGE__",
]
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"
BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28", b"\x80"]


def _slots(doc: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) of a JSON tree."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield doc, key
            yield from _slots(value)
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield doc, index
            yield from _slots(value)


@st.composite
def mutated_body(draw: st.DrawFn, template: Any) -> bytes:
    """A valid body with 1-3 structural mutations, then maybe a byte-level one."""
    doc = copy.deepcopy(template)
    for _ in range(draw(st.integers(0, 3))):
        slots = list(_slots(doc))
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        if draw(st.booleans()):
            container[key] = copy.deepcopy(draw(st.sampled_from(WRONG_VALUES)))  # wrong type
        elif isinstance(container, dict):
            del container[key]  # a missing (possibly required) field
        else:
            container.pop(key)
    body = json.dumps(doc).encode()
    depth = draw(st.integers(50, 5000))
    body = body.replace(b'"__DEEP__"', b"[" * depth + b"]" * depth)
    body = body.replace(b'"__HUGE__"', b"1" + b"0" * 400 + b".5e999")
    how = draw(
        st.sampled_from(["as is", "truncate", "flip", "bad utf-8", "append", "replace", "bom"])
    )
    at = draw(st.integers(0, max(0, len(body) - 1)))
    if how == "truncate":
        body = body[:at]
    elif how == "flip":
        body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    elif how == "bad utf-8":
        body = body[:at] + draw(st.sampled_from(BAD_UTF8)) + body[at:]
    elif how == "append":
        body += draw(st.sampled_from([b"garbage", b"}", b",", b"\x00", b" {}"]))
    elif how == "replace":
        body = draw(
            st.sampled_from(
                [b"", b" ", b"\n", HTML, b"null", b"[]", b"{}", b'""', b"0", b"true", b"nan"]
            )
        )
    elif how == "bom":
        body = b"\xef\xbb\xbf" + body
    assert len(body) < 64 * 1024
    return body


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "data", "results", "next", "meta", "total", "x", "created_at"])
            | st.text(max_size=6),
            children,
            max_size=4,
        )
    ),
    max_leaves=25,
)


def bodies(template: Any) -> st.SearchStrategy[bytes]:
    """Mutated templates, arbitrary JSON documents and arbitrary bytes."""
    return st.one_of(
        mutated_body(template),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=600),
    )


# --- the decoders, as the clients build them -------------------------------------------------


def _page_decoder(stream: Any) -> Callable[[bytes], Any]:
    decode: Callable[[bytes], Any] = stream._pager._decode()
    return decode


_SC = SendcloudClient(BasicAuth("pub", PASSWORD))
_EP = ElasticPathClient(BearerToken("tok"))
DECODERS: dict[str, tuple[str, Callable[[bytes], Any]]] = {
    "sendcloud logs": ("sendcloud-page", _page_decoder(_SC.logs())),
    "sendcloud raw logs": ("sendcloud-page", _page_decoder(_SC.logs().raw())),
    "sendcloud integrations": ("sendcloud-integrations", _page_decoder(_SC.integrations())),
    "elasticpath logs": ("elasticpath-page", _page_decoder(_EP.logs())),
    "elasticpath raw logs": ("elasticpath-page", _page_decoder(_EP.job_logs("i", "j").raw())),
    "elasticpath integrations": ("elasticpath-page", _page_decoder(_EP.integrations())),
    "elasticpath jobs": ("elasticpath-page", _page_decoder(_EP.jobs("i").raw())),
    "token response": ("token", parse_token_response),
}


@pytest.mark.parametrize("name", list(DECODERS))
def test_decoders_return_a_whole_page_or_a_decode_failure(name: str) -> None:
    template, decode = DECODERS[name]

    @PROPERTY
    @given(body=bodies(TEMPLATES[template]))
    def check(body: bytes) -> None:
        with contextlib.suppress(*_DECODE_FAILURES):  # the transport wraps these in DecodeError
            decode(body)

    check()


@PROPERTY
@given(body=st.one_of(bodies(TEMPLATES["elasticpath-page"]), bodies({"errors": [{}]})))
def test_error_bodies_never_break_error_parsing(body: bytes) -> None:
    for error in parse_error_body(body):
        str(error)


@PROPERTY
@given(
    value=st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "Mon, 01 Jan 0001 00:00:00 +0100",
                "Fri, 31 Dec 9999 23:59:59 -2359",
                "Sun, 06 Nov 1994 08:49:37 GMT",
                "1e999",
                "-1e999",
                "nan",
                "inf",
                "9" * 5000,
                "\u00b2",
            ]
        ),
    ),
    header=st.sampled_from(["Retry-After", "retry-after-ms"]),
)
def test_retry_after_never_raises_and_is_never_negative(value: str, header: str) -> None:
    wait = parse_retry_after({header: value})
    assert wait is None or wait >= 0


def test_provider_error_status_in_unusual_digits() -> None:
    # str.isdigit() accepts "²" and int() refuses > 4300 digits: both used to raise here.
    assert parse_error_body(b'{"errors":[{"status":"\xc2\xb2"}]}')[0].status is None
    many = b'{"errors":[{"status":"' + b"9" * 5000 + b'"}]}'
    assert parse_error_body(many)[0].status is None
    assert parse_error_body(b'{"error":{"code":"' + b"7" * 5000 + b'"}}')[0].status is None


# --- through the transport (aioresponses) ----------------------------------------------------


def _oracle_count(body: bytes, key: str | None) -> int:
    """How many records an independent parser sees in a body the library accepted."""
    # Bytes that are not UTF-8 may sit in what typed decoding skips (never handed out).
    doc = json.loads(body.decode("utf-8", "replace"))
    return len(doc if key is None else doc[key])


def _check_decode_error(exc: DecodeError, body: bytes, method: str, url: str) -> None:
    assert exc.method == method and exc.url == url and exc.status == 200
    assert isinstance(exc.excerpt, str) and len(exc.excerpt) <= 201
    assert f"{method} {url} -> HTTP 200" in str(exc)
    if method == "GET":
        assert exc.excerpt == excerpt(body)


@PROPERTY
@given(body=bodies(TEMPLATES["sendcloud-page"]), status=st.sampled_from([200, 200, 200, 404, 503]))
async def test_sendcloud_page_through_the_transport(body: bytes, status: int) -> None:
    with aioresponses() as mock:
        mock.get(SC_LOGS, status=status, body=body)
        async with SendcloudClient(BasicAuth("pub", PASSWORD), **NO_RETRIES) as client:
            try:
                async for page in client.logs().pages():  # the first page only
                    assert status == 200
                    assert len(page.items) == _oracle_count(body, "results")
                    break
            except DecodeError as exc:
                assert status == 200
                _check_decode_error(exc, body, "GET", SC_LOGS)
            except APIError as exc:
                assert exc.status == status != 200


@PROPERTY
@given(body=bodies(TEMPLATES["elasticpath-page"]))
async def test_elasticpath_page_through_the_transport(body: bytes) -> None:
    url = EP_LOGS + "?page%5Blimit%5D=100&page%5Boffset%5D=0"
    with aioresponses() as mock:
        mock.get(url, body=body)
        async with ElasticPathClient(BearerToken("tok"), **NO_RETRIES) as client:
            stream = client.logs().raw()
            try:
                async for page in stream.pages():
                    assert len(page.items) == _oracle_count(body, "data")
                    break
            except DecodeError as exc:
                _check_decode_error(exc, body, "GET", url)


@PROPERTY
@given(body=bodies(TEMPLATES["sendcloud-integrations"]))
async def test_sendcloud_integrations_through_the_transport(body: bytes) -> None:
    with aioresponses() as mock:
        mock.get(SC_BASE + "/integrations", body=body)
        async with SendcloudClient(BasicAuth("pub", PASSWORD), **NO_RETRIES) as client:
            try:
                found = await client.integrations().collect()
            except DecodeError as exc:
                _check_decode_error(exc, body, "GET", SC_BASE + "/integrations")
            else:
                assert len(found) == _oracle_count(body, None)


@PROPERTY
@given(body=bodies(TEMPLATES["token"]))
async def test_token_response_through_the_transport(body: bytes) -> None:
    with aioresponses() as mock:
        mock.post(EP_TOKEN, body=body)
        mock.get(re.compile(re.escape(EP_LOGS)), payload={"data": []})
        creds = ClientCredentials("cid", PASSWORD)
        async with ElasticPathClient(creds, **NO_RETRIES) as client:
            try:
                await client.logs().collect()
            except DecodeError as exc:
                _check_decode_error(exc, body, "POST", EP_TOKEN)
                assert PASSWORD not in str(exc)


# --- never a partial page ----------------------------------------------------------------


def _sc_ids(records: list[Any]) -> list[str]:
    return [str(r.id) for r in records]


@PROPERTY
@given(body=mutated_body({"next": None, "previous": SC_LOGS, "results": SC_RECORDS_2}))
async def test_a_page_that_fails_to_decode_yields_nothing(body: bytes) -> None:
    """Page 1 is fine, page 2 is mutated: its records come out all together or not at all."""
    first = {"next": SC_PAGE_2, "previous": None, "results": SC_RECORDS}
    try:
        page_2 = msgspec.json.decode(body, type=CursorPage[SendcloudIntegrationLog])
        expected_2: list[str] | None = _sc_ids(page_2.results)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        expected_2 = None
    with aioresponses() as mock:
        mock.get(SC_LOGS, payload=first)
        mock.get(SC_PAGE_2, body=body, repeat=True)
        mock.get(re.compile(re.escape(SC_BASE) + r"/.*"), payload={"next": None, "results": []})
        yielded: list[str] = []
        settings_: dict[str, Any] = {"rate_limit": 0, "max_attempts": 2, "backoff_initial": 1e-4}
        async with SendcloudClient(BasicAuth("pub", PASSWORD), **settings_) as client:
            try:
                async for log in client.logs():
                    yielded.append(str(log.id))
            except DecodeError:
                assert expected_2 is None, "a page that decodes raised DecodeError"
                assert yielded == [str(r["id"]) for r in SC_RECORDS]
                return
            except (UnsafeURLError, PaginationError, TransportError):
                pass  # page 2 decoded, with a next link that cannot be followed
    assert expected_2 is not None, "a page that does not decode was yielded"
    assert yielded[: len(SC_RECORDS) + len(expected_2)] == [
        *(str(r["id"]) for r in SC_RECORDS),
        *expected_2,
    ]


@PROPERTY
@given(body=mutated_body(TEMPLATES["elasticpath-page"]))
async def test_elasticpath_second_page_that_fails_to_decode_yields_nothing(body: bytes) -> None:
    records = [json.loads(b) for b in _STORE.elasticpath_logs[:5]]

    def page(offset: int) -> dict[str, Any]:
        return {"data": records[offset : offset + 3], "results": {"total": 5}}

    def serve(url: URL, **_: Any) -> CallbackResult:
        offset = int(url.query["page[offset]"])
        return CallbackResult(body=body if offset == 2 else json.dumps(page(offset)))

    with aioresponses() as mock:
        mock.get(re.compile(re.escape(EP_LOGS) + r"\?"), callback=serve, repeat=True)
        yielded: list[str] = []
        async with ElasticPathClient(BearerToken("t"), rate_limit=0, max_attempts=1) as client:
            try:
                async for log in client.logs(page_size=3):
                    yielded.append(log.id)
            except (DecodeError, PaginationError):
                # page 1 only: nothing of the page that failed
                assert yielded == [r["id"] for r in records[:3]]
                return
    # The mutated page decoded and held the overlapping record: what follows is its data.
    assert yielded[:3] == [r["id"] for r in records[:3]]


# --- a next link the pager cannot parse ----------------------------------------------------


NEXT_LINKS = st.one_of(
    st.builds(
        lambda scheme, host, port, rest: f"{scheme}://{host}{port}{rest}",
        st.sampled_from(["http", "https", "HTTPS"]),
        st.sampled_from(
            [
                "panel.sendcloud.sc",
                "evil.example",
                "[::1",
                "user:pw@panel.sendcloud.sc",
                "panel.sendcloud.sc@evil.example",
                "evil.example\\@panel.sendcloud.sc",
                "",
            ]
        ),
        st.sampled_from(["", ":443", ":99999", ":abc", ":0"]),
        st.text(max_size=12).map(lambda t: "/api/v2/integrations/logs?c=" + t),
    ),
    st.text(max_size=20).map(lambda t: "/api/v2/integrations/logs?c=" + t),
    st.text(max_size=20).map(lambda t: "?c=" + t),
)


@PROPERTY
@given(link=NEXT_LINKS)
async def test_next_links_are_followed_on_the_origin_or_refused(link: str) -> None:
    with aioresponses() as mock:
        mock.get(SC_LOGS, payload={"next": link, "results": []})
        mock.get(
            re.compile(r"^https://panel\.sendcloud\.sc(:443)?/api/v2/integrations/logs\?.*"),
            payload={"next": None, "results": []},
            repeat=True,
        )
        async with SendcloudClient(BasicAuth("pub", PASSWORD), **NO_RETRIES) as client:
            with contextlib.suppress(UnsafeURLError, PaginationError, TransportError, APIError):
                await client.logs().collect()
        for method, url in mock.requests:
            assert method == "GET" and url.host == "panel.sendcloud.sc", url
            assert url.user is None and url.password is None


@pytest.mark.parametrize("link", ["//[::1", "HTTP://[::1", "//host:99999/x"])
async def test_malformed_relative_next_link_raises_a_typed_error(link: str) -> None:
    with aioresponses() as mock:
        mock.get(SC_LOGS, payload={"next": link, "results": []})
        async with SendcloudClient(BasicAuth("pub", PASSWORD), **NO_RETRIES) as client:
            with pytest.raises(UnsafeURLError):
                await client.logs().collect()


# --- bad settings and arguments ------------------------------------------------------------
# tests/unit covers page_size on Sendcloud logs() and Elastic Path logs()/jobs(), the
# ClientConfig numbers, the usual malformed base URLs and malformed/foreign stream
# checkpoints. What follows adds the rest.


def _sc() -> SendcloudClient:
    return SendcloudClient(BasicAuth("pub", PASSWORD))


def _ep() -> ElasticPathClient:
    return ElasticPathClient(BearerToken("tok"))


PAGE_SIZE_CALLS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "sendcloud integration_logs": (lambda v: _sc().integration_logs(7, page_size=v), "1 to 500"),
    "sendcloud logs_for_integrations": (
        lambda v: _sc().logs_for_integrations(page_size=v),
        "1 to 500",
    ),
    "elasticpath integrations": (lambda v: _ep().integrations(page_size=v), "1 to 100"),
    "elasticpath integration_logs": (
        lambda v: _ep().integration_logs("i", page_size=v),
        "1 to 100",
    ),
    "elasticpath job_logs": (lambda v: _ep().job_logs("i", "j", page_size=v), "1 to 100"),
    "elasticpath logs_for_integrations": (
        lambda v: _ep().logs_for_integrations(page_size=v),
        "1 to 100",
    ),
    "elasticpath logs_by_job": (lambda v: _ep().logs_by_job(page_size=v), "1 to 100"),
}


@pytest.mark.parametrize("call", list(PAGE_SIZE_CALLS))
def test_page_size_outside_the_allowed_range(call: str) -> None:
    make, allowed = PAGE_SIZE_CALLS[call]
    too_big = 501 if "sendcloud" in call else 101
    for value in (0, -3, too_big, True, 2.5, "10"):
        with pytest.raises(ValueError, match=f"page_size must be an integer from {allowed}"):
            make(value)


FANOUTS: dict[str, Callable[..., Any]] = {
    "sendcloud logs_for_integrations": lambda **kw: _sc().logs_for_integrations(**kw),
    "elasticpath logs_for_integrations": lambda **kw: _ep().logs_for_integrations(**kw),
    "elasticpath logs_by_job": lambda **kw: _ep().logs_by_job(**kw),
}


@pytest.mark.parametrize("fanout", list(FANOUTS))
@pytest.mark.parametrize("value", [0, -1, -64, True, 2.5, "8", None])
def test_fanout_concurrency_must_be_a_positive_integer(fanout: str, value: Any) -> None:
    with pytest.raises(ValueError, match=r"concurrency must be an integer >= 1, got "):
        FANOUTS[fanout](concurrency=value)


@pytest.mark.parametrize("fanout", list(FANOUTS))
def test_fanout_arguments(fanout: str) -> None:
    make = FANOUTS[fanout]
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'collect'"):
        make(on_error="ignore")
    with pytest.raises(ValueError, match="max_items must be an integer >= 0 or None"):
        make(max_items=-1)
    with pytest.raises(ValueError, match="not a valid fan-out checkpoint"):
        make(resume_from="not-a-checkpoint!!")
    # a stream's checkpoint is not a fan-out's
    stream_checkpoint = _sc().logs().checkpoint
    with pytest.raises(ValueError, match="fan-out checkpoint"):
        make(resume_from=stream_checkpoint)


def test_fanout_checkpoint_from_another_provider_or_method() -> None:
    sc = _sc().logs_for_integrations().checkpoint
    ep_by_integration = _ep().logs_for_integrations().checkpoint
    ep_by_job = _ep().logs_by_job().checkpoint
    cases: list[tuple[Callable[[str], object], str]] = [
        (lambda cp: _ep().logs_for_integrations(resume_from=cp), sc),
        (lambda cp: _sc().logs_for_integrations(resume_from=cp), ep_by_integration),
        (lambda cp: _ep().logs_by_job(resume_from=cp), ep_by_integration),
        (lambda cp: _ep().logs_for_integrations(resume_from=cp), ep_by_job),
    ]
    for make, foreign in cases:
        with pytest.raises(ValueError, match="resume it with the same method and arguments"):
            make(foreign)
    # and a fan-out's checkpoint is not a stream's
    with pytest.raises(ValueError, match="not a valid checkpoint"):
        _sc().logs(resume_from=sc)


@pytest.mark.parametrize("value", [-1, 1.5, "3"])
def test_stream_max_items(value: Any) -> None:
    with pytest.raises(ValueError, match="max_items must be an integer >= 0 or None"):
        _ep().logs(max_items=value)
    with pytest.raises(ValueError, match="max_items must be an integer >= 0 or None"):
        _sc().logs(max_items=value)


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("https://api.test\n", "whitespace or control characters"),
        (" https://api.test", "whitespace or control characters"),
        ("https://exa mple.test", "whitespace or control characters"),
        ("https://api.test/\x00", "whitespace or control characters"),
        ("https://api.test:0", "ports go from 1 to 65535"),
        ("https://api.test:99999", "is not a valid URL"),
        ("https://[::1", "is not a valid URL"),
        ("https://a..b", "invalid host name"),
        ("https://-bad-.test", "invalid host name"),
        ("https://user:hunter2@[::1", "is not a valid URL"),
    ],
)
def test_malformed_base_urls_say_what_is_allowed(base_url: str, says: str) -> None:
    for make in (
        lambda: SendcloudClient(BasicAuth("a", "b"), base_url=base_url),
        lambda: ElasticPathClient(BearerToken("t"), base_url=base_url),
        lambda: SendcloudClient(ClientCredentials("c", "s", token_url=base_url)),
    ):
        with pytest.raises(ValueError, match=re.escape(says)) as info:
            make()
        assert "hunter2" not in str(info.value)
        assert "https://" in str(info.value) or "must be" in str(info.value)


@pytest.mark.parametrize("token_url", [12, b"https://auth.test/token"])
def test_token_url_must_be_a_string(token_url: Any) -> None:
    with pytest.raises(ValueError, match="token_url must be a string like 'https://"):
        SendcloudClient(ClientCredentials("c", "s", token_url=token_url))


@pytest.mark.parametrize(
    "base_url",
    ["https://münchen.test/api", "https://api.test.", "http://[::1]:8080", "HTTPS://A.B"],
)
def test_unusual_but_valid_base_urls(base_url: str) -> None:
    SendcloudClient(BasicAuth("a", "b"), base_url=base_url)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("rate_limit", float("nan"), "rate_limit must be >= 0 requests/s"),
        ("rate_limit", "10", "rate_limit must be >= 0 requests/s"),
        ("retry_after_cap", float("nan"), "retry_after_cap must be a number of seconds >= 0"),
        ("default_429_pause", -1, "default_429_pause must be a number of seconds >= 0"),
        ("default_429_pause", float("nan"), "default_429_pause must be a number of seconds"),
        ("token_refresh_margin", "60", "token_refresh_margin must be a number of seconds"),
        ("read_timeout", "30", "read_timeout must be a positive number of seconds"),
        ("max_attempts", True, "max_attempts must be an integer >= 1"),
        ("prefetch_pages", False, "prefetch_pages must be an integer >= 0"),
        ("retryable_statuses", {429, 1000}, "retryable_statuses must be a set of HTTP status"),
        ("retryable_statuses", "429", "retryable_statuses must be a set of HTTP status"),
        ("verify_ssl", "no", "verify_ssl must be True or False"),
        ("allow_insecure_http", 1, "allow_insecure_http must be True or False"),
        ("retry_decode_errors", None, "retry_decode_errors must be True or False"),
        ("user_agent", "agent\r\nX-Injected: 1", "user_agent must be a non-empty string"),
        ("user_agent", "", "user_agent must be a non-empty string"),
        ("on_event", "print", "on_event must be a callable or None"),
    ],
)
def test_client_settings_say_what_is_allowed(name: str, value: Any, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        ClientConfig(**{name: value})
    with pytest.raises(ValueError, match=re.escape(says)):
        ElasticPathClient(BearerToken("t"), **{name: value})


def test_retryable_statuses_may_be_any_collection_of_codes() -> None:
    # accepted as any set or sequence of codes (config.StatusCodes), stored as a frozenset
    statuses = ClientConfig(retryable_statuses=[503, 429]).retryable_statuses
    assert statuses == frozenset({429, 503})
    assert ClientConfig(rate_limit=0, default_429_pause=0).default_429_pause == 0
