"""Sendcloud API v2 records (kept import path; they live in ``providers/sendcloud``)."""

from ..providers.sendcloud import (
    LogRequest,
    LogResponse,
    SendcloudIntegration,
    SendcloudIntegrationLog,
)

__all__ = ["LogRequest", "LogResponse", "SendcloudIntegration", "SendcloudIntegrationLog"]
