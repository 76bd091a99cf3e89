"""Typed records of both providers, as msgspec structs.

Decoding goes straight from response bytes to these structs. Unknown fields are accepted
and ignored (the harvester keeps them: it writes the server's bytes, not these structs).
"""

from .elasticpath import (
    ElasticPathIntegration,
    ElasticPathIntegrationLog,
    ElasticPathJob,
    LogRelationships,
    Relationship,
    ResourceIdentifier,
    ResourceMeta,
    Timestamps,
)
from .sendcloud import LogRequest, LogResponse, SendcloudIntegration, SendcloudIntegrationLog

__all__ = [
    "ElasticPathIntegration",
    "ElasticPathIntegrationLog",
    "ElasticPathJob",
    "LogRelationships",
    "LogRequest",
    "LogResponse",
    "Relationship",
    "ResourceIdentifier",
    "ResourceMeta",
    "SendcloudIntegration",
    "SendcloudIntegrationLog",
    "Timestamps",
]
