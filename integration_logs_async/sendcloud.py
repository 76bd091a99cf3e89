"""Sendcloud API v2 client (kept import path; the provider lives in ``providers/sendcloud``)."""

from .providers.sendcloud import SendcloudClient

__all__ = ["SendcloudClient"]
