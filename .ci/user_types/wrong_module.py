"""A user's mistake that mypy must report: proof that the package's types are not Any."""

from __future__ import annotations

from integration_logs_async import BasicAuth, SendcloudClient


def base_url_as_int(client: SendcloudClient) -> int:
    """Wrong on purpose: ``base_url`` is a ``str``."""
    number: int = client.base_url
    return number


AUTH = BasicAuth("public-key", "secret")
