"""Sendcloud API v2: integration exception logs of a Sendcloud account, cursor-paginated."""

from ._client import SendcloudClient
from ._models import LogRequest, LogResponse, SendcloudIntegration, SendcloudIntegrationLog
from ._spec import SPEC
from .v3 import SendcloudV3Client  # registers API v3: SendcloudClient(auth, api_version=3)

__all__ = [
    "SPEC",
    "LogRequest",
    "LogResponse",
    "SendcloudClient",
    "SendcloudIntegration",
    "SendcloudIntegrationLog",
    "SendcloudV3Client",
]
