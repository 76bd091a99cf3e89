"""Typed records of every provider, as msgspec structs (each provider's live in its folder).

Decoding goes straight from response bytes to these structs. Unknown fields are accepted
and ignored (the harvester keeps them: it writes the server's bytes, not these structs).

Log records, their nested objects and the page wrappers are declared ``gc=False``: decoded
records never form reference cycles, and untracked instances spare the cyclic garbage
collector work on every page. Do not build cycles through them (e.g. store a record inside
its own ``body`` dict).
"""

from .._time import AwareDatetime, AwareDecoder
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
    "AwareDatetime",
    "AwareDecoder",
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
