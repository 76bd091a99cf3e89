"""Sendcloud's integrations listing as a stream, like every other listing.

``GET /integrations`` answers with one plain JSON array, not a cursor page: :class:`ArrayPager`
reads it as a cursor listing of a single page (so checkpoints and ``raw()`` work as for the
logs), and :class:`IntegrationsStream` keeps ``await client.integrations()``, the list the
method returned before, working for a release with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from ._body_buffers import Body
from ._pagination import CursorPager, WirePage
from .models.sendcloud import SendcloudIntegration
from .records import RecordCodec
from .stream import AsyncStream

T = TypeVar("T")
U = TypeVar("U")

AWAIT_DEPRECATED = (
    "`await client.integrations()` is deprecated and will be removed in a later release: "
    "SendcloudClient.integrations() now returns a stream, as ElasticPathClient.integrations() "
    "does. Write `await client.integrations().collect()` for a list, or "
    "`async for integration in client.integrations(): ...`."
)


@functools.cache
def _array_decoder(item_type: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(list[item_type])


@dataclass(frozen=True)
class ArrayPager(CursorPager[T]):
    """A listing answered with one plain JSON array: a cursor listing of one page."""

    def with_codec(self, codec: RecordCodec[U]) -> ArrayPager[U]:
        """The same listing, decoding items with ``codec``."""
        return ArrayPager(self.transport, self.path, self.params, codec, self.gate)

    def _decode(self) -> Callable[[Body], WirePage[T]]:
        decoder = _array_decoder(self.codec.item_type)
        convert = self.codec.convert

        def decode(body: Body) -> WirePage[T]:
            items = decoder.decode(body)
            return WirePage(items if convert is None else [convert(x) for x in items])

        return decode


class IntegrationsStream(AsyncStream[SendcloudIntegration]):
    """The stream of :meth:`SendcloudClient.integrations`; awaiting it is deprecated."""

    def __await__(self) -> Generator[Any, None, list[SendcloudIntegration]]:
        warnings.warn(AWAIT_DEPRECATED, DeprecationWarning, stacklevel=2)
        return self.collect().__await__()
