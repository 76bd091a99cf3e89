"""Sendcloud's integrations listing as a stream that can still be awaited (deprecated).

``GET /integrations`` answers with one plain JSON array, read as a cursor listing of a
single page (so checkpoints and ``raw()`` work as for the logs). :class:`IntegrationsStream`
keeps ``await client.integrations()``, the list the method returned before, working for a
release with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any

from ...stream import AsyncStream
from ._models import SendcloudIntegration

AWAIT_DEPRECATED = (
    "`await client.integrations()` is deprecated and will be removed in a later release: "
    "SendcloudClient.integrations() now returns a stream, as ElasticPathClient.integrations() "
    "does. Write `await client.integrations().collect()` for a list, or "
    "`async for integration in client.integrations(): ...`."
)


class IntegrationsStream(AsyncStream[SendcloudIntegration]):
    """The stream of :meth:`SendcloudClient.integrations`; awaiting it is deprecated."""

    def __await__(self) -> Generator[Any, None, list[SendcloudIntegration]]:
        warnings.warn(AWAIT_DEPRECATED, DeprecationWarning, stacklevel=2)
        return self.collect().__await__()


__all__ = ["AWAIT_DEPRECATED", "IntegrationsStream"]
