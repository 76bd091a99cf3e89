"""Pydantic v2 models equivalent to the library's msgspec structs (the "typical" baseline).

Same fields, same types (optional nested objects; datetimes made aware, UTC assumed when the
provider sent no offset, as the library's models do), unknown fields ignored, decoded with
``model_validate_json`` straight from the response bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel

JSONValue = str | dict[str, Any] | list[Any] | None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
"""A datetime, UTC assumed when naive: what the library's ``aware()`` guarantees."""


# --- Elastic Path ------------------------------------------------------------------------------


class ResourceIdentifier(BaseModel):
    id: str
    type: str | None = None


class Relationship(BaseModel):
    data: ResourceIdentifier | None = None


class LogRelationships(BaseModel):
    integration: Relationship | None = None
    job: Relationship | None = None


class Timestamps(BaseModel):
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class ResourceMeta(BaseModel):
    timestamps: Timestamps | None = None


class ElasticPathIntegrationLog(BaseModel):
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


class ElasticPathIntegration(BaseModel):
    id: str
    type: str = "integration"
    name: str | None = None


class ResultsTotal(BaseModel):
    total: int | None = None


class ListMeta(BaseModel):
    limit: int | None = None
    offset: int | None = None
    current: int | None = None
    total: int | None = None


class ElasticPathLogPage(BaseModel):
    data: list[ElasticPathIntegrationLog]
    meta: ListMeta | None = None
    results: ResultsTotal | None = None
    links: dict[str, str | None] | None = None


class ElasticPathIntegrationPage(BaseModel):
    data: list[ElasticPathIntegration]
    meta: ListMeta | None = None
    results: ResultsTotal | None = None
    links: dict[str, str | None] | None = None


# --- Sendcloud ---------------------------------------------------------------------------------


class LogResponse(BaseModel):
    headers: dict[str, Any] | str | None = None
    body: JSONValue = None


class LogRequest(BaseModel):
    headers: dict[str, Any] | str | None = None
    payload: JSONValue = None


class SendcloudIntegrationLog(BaseModel):
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


class SendcloudLogPage(BaseModel):
    results: list[SendcloudIntegrationLog]
    next: str | None = None
    previous: str | None = None


# --- Sendcloud API v3 --------------------------------------------------------------------------


class SendcloudV3IntegrationLog(BaseModel):
    """v2's log without ``user_id``, with ``additional_data`` (an object or a string)."""

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


class SendcloudV3LogPage(BaseModel):
    """``{"data": [...]}``: the next page is in the ``Link`` header, not in the body."""

    data: list[SendcloudV3IntegrationLog]
