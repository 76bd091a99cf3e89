"""Sendcloud API v2 integration objects (``/integrations``, ``/integrations/logs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeAlias, TypeVar

import msgspec

from ..._time import AwareDatetime

T = TypeVar("T")

JSONValue: TypeAlias = str | dict[str, Any] | list[Any] | None
"""A body, header set or payload: the spec allows string, object or null (we also take arrays)."""


class LogResponse(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """What the shop system answered Sendcloud: headers and body."""

    headers: dict[str, Any] | str | None = None
    body: JSONValue = None


class LogRequest(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """What Sendcloud sent to the shop system: headers and payload."""

    headers: dict[str, Any] | str | None = None
    payload: JSONValue = None


class SendcloudIntegrationLog(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """An integration exception log: one failed request from Sendcloud to a shop system.

    ``created_at`` is timezone-aware: the type requires an offset, and the client assumes UTC
    for one sent without (``AwareDecoder``). ``protected`` means request/response are
    obfuscated by Sendcloud.
    """

    # The documented key order: msgspec matches keys fastest when fields come in wire order.
    id: int
    integration_id: int | None = None
    user_id: int | None = None
    base_url: str
    full_url: str | None = None
    method: str | None = None
    response_code: int | None = None
    response: LogResponse | None = None
    request: LogRequest | None = None
    created_at: AwareDatetime
    exception_type: str | None = None
    exception: str | None = None
    protected: bool = False


class SendcloudIntegration(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A shop integration connected to a Sendcloud account."""

    id: int
    shop_name: str | None = None
    shop_url: str | None = None
    system: str | None = None
    failing_since: datetime | None = None
    last_fetch: datetime | None = None
    last_updated_at: datetime | None = None
    service_point_enabled: bool | None = None
    service_point_carriers: list[str] = msgspec.field(default_factory=list)
    webhook_active: bool | None = None
    webhook_url: str | None = None


class CursorPage(msgspec.Struct, Generic[T], kw_only=True, gc=False):
    """Wire shape of a Sendcloud cursor page: ``{"next", "previous", "results"}``."""

    results: list[T]
    next: str | None = None
    previous: str | None = None
