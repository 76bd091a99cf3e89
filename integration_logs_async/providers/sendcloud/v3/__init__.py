"""Sendcloud API v3: integrations and their exception logs, next pages in the ``Link`` header."""

from ._client import SendcloudV3Client
from ._models import SendcloudV3Integration, SendcloudV3IntegrationLog
from ._spec import SPEC

__all__ = ["SPEC", "SendcloudV3Client", "SendcloudV3Integration", "SendcloudV3IntegrationLog"]
