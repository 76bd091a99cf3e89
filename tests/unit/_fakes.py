"""Record factories, request inspection and tiny fake servers built on aioresponses callbacks."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Any

from aioresponses import CallbackResult, aioresponses
from aioresponses.compat import normalize_url
from yarl import URL

SC_BASE = "https://panel.sendcloud.sc/api/v2"
SC_LOGS = SC_BASE + "/integrations/logs"
SC_TOKEN_URL = "https://account.sendcloud.com/oauth2/token"
EP_BASE = "https://useast.api.elasticpath.com"
EP_LOGS = EP_BASE + "/v2/integrations/logs"
EP_TOKEN_URL = EP_BASE + "/oauth/access_token"
USER_AGENT = f"integration-logs-async/{version('integration-logs-async')}"


# --- records -------------------------------------------------------------------------------


def sc_log(n: int, **extra: Any) -> dict[str, Any]:
    """A Sendcloud integration log with id ``n``."""
    record: dict[str, Any] = {
        "id": n,
        "integration_id": 7,
        "user_id": 3,
        "base_url": "https://shop.example",
        "full_url": f"https://shop.example/orders/{n}.json",
        "method": "POST",
        "response_code": 500,
        "response": {"headers": {"Content-Type": "text/plain"}, "body": f"error {n}"},
        "request": {"headers": {}, "payload": {"order": n}},
        "created_at": f"2024-01-01T00:00:{n % 60:02d}+00:00",
        "exception_type": "requests.exceptions.HTTPError",
        "exception": f"failure {n}",
        "protected": False,
    }
    record.update(extra)
    return record


def ep_log(n: int) -> dict[str, Any]:
    """An Elastic Path integration log with id ``log-000n``."""
    return {
        "id": f"log-{n:04d}",
        "type": "integration-log",
        "succeeded": False,
        "attempt": 1,
        "processing_time": 0.25,
        "body": "Not found",
        "status_code": 404,
        "error_detail": "Received a status code outside of 2xx range",
        "relationships": {
            "integration": {"data": {"type": "integration", "id": "int-1"}},
            "job": {"data": {"type": "integration-job", "id": f"job-{n}"}},
        },
        "meta": {"timestamps": {"created_at": "2024-05-01T10:00:00.123456789Z"}},
    }


# --- request inspection ----------------------------------------------------------------------


def calls(m: aioresponses, method: str, url: str | URL) -> list[Any]:
    """The recorded calls of ``method url`` (aioresponses keys are normalised URLs)."""
    return list(m.requests.get((method, normalize_url(URL(url))), []))


def requested(m: aioresponses) -> dict[tuple[str, str], int]:
    """Every ``(method, url)`` requested, with how many times."""
    return {(method, str(url)): len(c) for (method, url), c in m.requests.items()}


def total_requests(m: aioresponses) -> int:
    return sum(len(c) for c in m.requests.values())


def headers_of(call: Any) -> dict[str, str]:
    return dict(call.kwargs["headers"])


# --- fake servers ------------------------------------------------------------------------------

Hook = Callable[[int, int], Awaitable[None]]


class FakeElasticPath:
    """An offset-paginated listing served from ``records`` (mutable between requests).

    ``meta``: ``"flat"`` (meta.{limit,offset,current,total} + results.total), ``"nested"``
    (meta.page + meta.results) or ``"none"``; ``with_total=False`` drops the record total.
    ``server_limit`` caps ``page[limit]`` like a server applying a smaller page size.
    ``before`` is awaited with ``(offset, limit)`` before each answer.
    """

    def __init__(
        self,
        records: list[dict[str, Any]],
        *,
        url: str = EP_LOGS,
        meta: str = "flat",
        with_total: bool = True,
        server_limit: int | None = None,
        before: Hook | None = None,
    ) -> None:
        self.records = records
        self.url = url
        self.meta = meta
        self.with_total = with_total
        self.server_limit = server_limit
        self.before = before
        self.seen: list[tuple[int, int]] = []  # (offset, limit) of each request
        self.auth: list[str] = []

    def register(self, m: aioresponses) -> FakeElasticPath:
        m.get(re.compile("^" + re.escape(self.url) + r"\?"), callback=self.handle, repeat=True)
        return self

    @property
    def offsets(self) -> list[int]:
        return [offset for offset, _ in self.seen]

    def page_body(self, offset: int, limit: int) -> dict[str, Any]:
        applied = min(limit, self.server_limit or limit)
        data = self.records[offset : offset + applied]
        body: dict[str, Any] = {"data": data}
        total = len(self.records)
        numbers = {
            "limit": applied,
            "offset": offset,
            "current": offset // applied + 1,
            "total": max(1, math.ceil(total / applied)),
        }
        if self.meta == "flat":
            body["meta"] = numbers
            if self.with_total:
                body["results"] = {"total": total}
        elif self.meta == "nested":
            body["meta"] = {"page": numbers}
            if self.with_total:
                body["meta"]["results"] = {"total": total}
        return body

    async def handle(self, url: URL, **kwargs: Any) -> CallbackResult:
        offset = int(url.query["page[offset]"])
        limit = int(url.query["page[limit]"])
        self.seen.append((offset, limit))
        self.auth.append(kwargs["headers"].get("Authorization", ""))
        if self.before is not None:
            await self.before(offset, limit)
        return CallbackResult(body=json.dumps(self.page_body(offset, limit)))


class FakeSendcloud:
    """A cursor-paginated listing: ``pages[0]`` at ``head``, page i at ``head?cursor=c{i}``."""

    def __init__(
        self,
        pages: list[list[dict[str, Any]]],
        *,
        head: str = SC_LOGS,
        omit_last_next: bool = False,
        before: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.pages = pages
        self.head = head
        self.omit_last_next = omit_last_next
        self.before = before
        self.seen: list[int] = []

    def url(self, i: int) -> str:
        if i == 0:
            return self.head
        sep = "&" if "?" in self.head else "?"
        return f"{self.head}{sep}cursor=c{i}"

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for page in self.pages for r in page]

    def register(self, m: aioresponses) -> FakeSendcloud:
        path = self.head.split("?", 1)[0]
        m.get(re.compile("^" + re.escape(path) + r"(\?.*)?$"), callback=self.handle, repeat=True)
        return self

    async def handle(self, url: URL, **kwargs: Any) -> CallbackResult:
        cursor = url.query.get("cursor")
        i = 0 if cursor is None else int(cursor[1:])
        self.seen.append(i)
        if self.before is not None:
            await self.before(i)
        body: dict[str, Any] = {"previous": None if i == 0 else self.url(i - 1)}
        if i + 1 < len(self.pages):
            body["next"] = self.url(i + 1)
        elif not self.omit_last_next:
            body["next"] = None
        body["results"] = self.pages[i]
        return CallbackResult(body=json.dumps(body))
