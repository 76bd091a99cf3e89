"""Elastic Path records (kept import path; they live in ``providers/elasticpath``)."""

from ..providers.elasticpath import (
    ElasticPathIntegration,
    ElasticPathIntegrationLog,
    ElasticPathJob,
    LogRelationships,
    Relationship,
    ResourceIdentifier,
    ResourceMeta,
    Timestamps,
)

__all__ = [
    "ElasticPathIntegration",
    "ElasticPathIntegrationLog",
    "ElasticPathJob",
    "LogRelationships",
    "Relationship",
    "ResourceIdentifier",
    "ResourceMeta",
    "Timestamps",
]
