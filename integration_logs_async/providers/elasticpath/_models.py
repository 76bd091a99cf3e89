"""Elastic Path Commerce Cloud integration objects (``/v2/integrations...``), JSON:API style."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

from ..._time import AwareDatetime

T = TypeVar("T")


class ResourceIdentifier(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """A JSON:API resource identifier ``{"type", "id"}``."""

    id: str
    type: str | None = None


class Relationship(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """A JSON:API relationship ``{"data": {...}}``."""

    data: ResourceIdentifier | None = None


class LogRelationships(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """The integration and job a log belongs to."""

    integration: Relationship | None = None
    job: Relationship | None = None


class Timestamps(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """``meta.timestamps``: aware datetimes (Elastic Path sends nanosecond fractions; the
    client assumes UTC for a timestamp sent without an offset)."""

    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class ResourceMeta(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """A resource's ``meta`` object."""

    timestamps: Timestamps | None = None


class ElasticPathIntegrationLog(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """One delivery attempt of an integration (webhook, SQS, STOMP) and its outcome."""

    id: str
    type: str = "integration-log"
    succeeded: bool | None = None
    attempt: int | None = None
    processing_time: float | None = None
    body: str | None = None
    status_code: int | None = None
    error_detail: str | None = None
    relationships: LogRelationships | None = None
    meta: ResourceMeta | None = None

    @property
    def integration_id(self) -> str | None:
        """Id of the integration this log belongs to."""
        rel = self.relationships
        return rel.integration.data.id if rel and rel.integration and rel.integration.data else None

    @property
    def job_id(self) -> str | None:
        """Id of the integration job this log belongs to."""
        rel = self.relationships
        return rel.job.data.id if rel and rel.job and rel.job.data else None

    @property
    def created_at(self) -> datetime | None:
        """``meta.timestamps.created_at``."""
        try:  # read for every record by consumers: the common case first
            return self.meta.timestamps.created_at  # type: ignore[union-attr]
        except AttributeError:  # no meta or no timestamps
            return None


class ElasticPathIntegration(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An integration (event subscription): webhook, AWS SQS or STOMP."""

    id: str
    type: str = "integration"
    name: str | None = None
    description: str | None = None
    enabled: bool | None = None
    integration_type: str | None = None
    observes: list[str] = msgspec.field(default_factory=list)
    configuration: dict[str, Any] | None = None
    links: dict[str, str | None] | None = None
    meta: ResourceMeta | None = None


class ElasticPathJob(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """An integration job: one event being delivered (possibly over several attempts)."""

    id: str
    type: str = "integration-job"
    meta: ResourceMeta | None = None


class PageNumbers(msgspec.Struct, kw_only=True, gc=False):
    """``limit``/``offset``/``current``/``total`` (flat in ``meta`` or nested in ``meta.page``)."""

    limit: int | None = None
    offset: int | None = None
    current: int | None = None
    total: int | None = None


class ResultsTotal(msgspec.Struct, kw_only=True, gc=False):
    """``results``: the number of records in the whole collection."""

    total: int | None = None


class ListMeta(msgspec.Struct, kw_only=True, gc=False):
    """A listing's ``meta``: either flat numbers or nested ``page``/``results`` objects."""

    limit: int | None = None
    offset: int | None = None
    current: int | None = None
    total: int | None = None
    page: PageNumbers | None = None
    results: ResultsTotal | None = None


class ListPage(msgspec.Struct, Generic[T], kw_only=True, gc=False):
    """Wire shape of a JSON:API listing page."""

    data: list[T]
    meta: ListMeta | None = None
    results: ResultsTotal | None = None
    links: dict[str, str | None] | None = None
