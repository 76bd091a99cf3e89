"""Sendcloud API v2: integration exception logs of a Sendcloud account, cursor-paginated."""

from ._client import SendcloudClient
from ._models import LogRequest, LogResponse, SendcloudIntegration, SendcloudIntegrationLog
from ._spec import SPEC

__all__ = [
    "SPEC",
    "LogRequest",
    "LogResponse",
    "SendcloudClient",
    "SendcloudIntegration",
    "SendcloudIntegrationLog",
]
