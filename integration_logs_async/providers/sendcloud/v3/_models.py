"""Sendcloud API v3 integration objects (``/api/v3/integrations``, ``/integrations/logs``).

Tolerant where the documents disagree or leave things open: every log field but ``base_url``
may be missing (``integration_id`` is absent from the list examples, though the schema
defines it), ``additional_data`` is an object or a string, ``request.headers`` may be a
string, unknown keys are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

from ...._time import AwareDatetime
from .._models import LogRequest, LogResponse

T = TypeVar("T")


class SendcloudV3IntegrationLog(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """An integration exception log of API v3: one failed request from Sendcloud to a shop.

    As in v2 but without ``user_id``, and with ``additional_data``. ``created_at`` is
    timezone-aware (UTC assumed for a timestamp sent without an offset).
    """

    id: int
    integration_id: int | None = None
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
    additional_data: dict[str, Any] | str | None = ""


class SendcloudV3Integration(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A shop integration as API v3 shows it (v2's ``system``, ``failing_since``,
    ``last_fetch`` and ``last_updated_at`` are ``type``, ``started_failing_at``,
    ``last_fetched_at`` and ``updated_at``)."""

    id: int
    shop_name: str | None = None
    shop_url: str | None = None
    type: str | None = None
    started_failing_at: datetime | None = None
    last_fetched_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    service_point_enabled: bool | None = None
    service_point_carriers: list[str] = msgspec.field(default_factory=list)
    webhook_active: bool | None = None
    webhook_url: str | None = None
    feedback_type: str | None = None  # eager, delayed or none


class DataPage(msgspec.Struct, Generic[T], gc=False):
    """Wire shape of a v3 list: ``{"data": [...]}`` (the next page is in the ``Link``
    header, never in the body)."""

    data: list[T]


class DataItem(msgspec.Struct, Generic[T], gc=False):
    """Wire shape of one v3 object: ``{"data": {...}}``."""

    data: T


__all__ = ["DataItem", "DataPage", "SendcloudV3Integration", "SendcloudV3IntegrationLog"]
