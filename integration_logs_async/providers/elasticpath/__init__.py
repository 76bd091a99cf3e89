"""Elastic Path Commerce Cloud: integrations, jobs and their logs, offset-paginated."""

from ._client import ElasticPathClient
from ._models import (
    ElasticPathIntegration,
    ElasticPathIntegrationLog,
    ElasticPathJob,
    LogRelationships,
    Relationship,
    ResourceIdentifier,
    ResourceMeta,
    Timestamps,
)
from ._spec import SPEC

__all__ = [
    "SPEC",
    "ElasticPathClient",
    "ElasticPathIntegration",
    "ElasticPathIntegrationLog",
    "ElasticPathJob",
    "LogRelationships",
    "Relationship",
    "ResourceIdentifier",
    "ResourceMeta",
    "Timestamps",
]
