"""integration-logs-async: asyncio client and harvester for e-commerce integration logs.

Sendcloud API v2 and Elastic Path Commerce Cloud (one folder each under ``providers/``),
with typed msgspec records, resumable streams, retries, rate limiting and OAuth2 token
management::

    async with SendcloudClient(BasicAuth(key, secret)) as client:
        async for log in client.logs():
            print(log.created_at, log.response_code, log.full_url)
        async for log in client.tail(failed_only=True):  # new logs as they arrive
            alert(log)
"""

from ._constants import LIBRARY_VERSION
from ._time import AwareDecoder
from .auth import BasicAuth, BearerToken, ClientCredentials
from .config import ClientConfig, ClientSettings
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    FanOutError,
    IntegrationLogsError,
    NotFoundError,
    OffsetCeilingError,
    PaginationError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    TailGapError,
    TransportError,
    UnsafeURLError,
)
from .events import TransportEvent, TransportStats
from .fanout import FanOutOptions, FanOutStream, Source, SourcedPage
from .providers.elasticpath import (
    ElasticPathClient,
    ElasticPathIntegration,
    ElasticPathIntegrationLog,
    ElasticPathJob,
)
from .providers.sendcloud import (
    LogRequest,
    LogResponse,
    SendcloudClient,
    SendcloudIntegration,
    SendcloudIntegrationLog,
)
from .providers.sendcloud.v3 import (
    SendcloudV3Client,
    SendcloudV3Integration,
    SendcloudV3IntegrationLog,
)
from .records import RawRecord
from .stream import AsyncStream, Page
from .tail import LogFilter, TailBatch, TailOptions, TailStats, TailStream

__version__: str = LIBRARY_VERSION
"""The installed distribution's version (from ``pyproject.toml``)."""

__all__ = [
    "APIError",
    "AsyncStream",
    "AuthenticationError",
    "AwareDecoder",
    "BadRequestError",
    "BasicAuth",
    "BearerToken",
    "ClientConfig",
    "ClientCredentials",
    "ClientSettings",
    "DecodeError",
    "ElasticPathClient",
    "ElasticPathIntegration",
    "ElasticPathIntegrationLog",
    "ElasticPathJob",
    "FanOutError",
    "FanOutOptions",
    "FanOutStream",
    "IntegrationLogsError",
    "LogFilter",
    "LogRequest",
    "LogResponse",
    "NotFoundError",
    "OffsetCeilingError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "RawRecord",
    "ResponseTooLargeError",
    "SendcloudClient",
    "SendcloudIntegration",
    "SendcloudIntegrationLog",
    "SendcloudV3Client",
    "SendcloudV3Integration",
    "SendcloudV3IntegrationLog",
    "ServerError",
    "Source",
    "SourcedPage",
    "TailBatch",
    "TailGapError",
    "TailOptions",
    "TailStats",
    "TailStream",
    "TransportError",
    "TransportEvent",
    "TransportStats",
    "UnsafeURLError",
    "__version__",
]
