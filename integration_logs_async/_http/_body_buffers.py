"""Response bodies read into reusable buffers instead of a fresh allocation per response.

aiohttp's ``ClientResponse.read()`` joins a body's chunks into a new bytes object, which is
freed again once the page is decoded. List pages are 50-200 KB: around glibc's mmap and
heap-trim thresholds (128 KiB by default, raised dynamically), so depending on the process's
heap history each page is copied into freshly mapped pages (a page fault every 4 KiB) that
are handed back to the kernel (``brk``/``munmap``) when freed: CPU per record then varies from
process to process, spent in the join's ``memcpy`` and in ``free`` -> ``sbrk`` (figures:
benchmarks/README.md).

A body with a known ``Content-Length`` and no content coding that arrives in several chunks is
copied chunk by chunk into a buffer from a small pool kept by the transport (the same amount
of copying as the join), and the decoder reads it through a ``memoryview``; a body that
arrives in one chunk is used as it is, as ``read()`` would. Releasing the view after
decoding is the safety check: a decoded value that still references the buffer
(``msgspec.Raw`` does) keeps the view exported, ``release()`` raises ``BufferError``, and the
buffer leaves the pool instead of being overwritten by the next response.

Only the session the client creates reads this way; a session the caller passes is read with
``read()``, which also feeds its tracing hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias, TypeVar

import aiohttp

T = TypeVar("T")

Body: TypeAlias = bytes | bytearray | memoryview
"""What a decode callable receives: valid only during the call; it must not keep it."""


class BodyBuffers:
    """A pool of at most ``keep`` receive buffers of at most ``max_bytes`` each."""

    __slots__ = ("_free", "_keep", "_max_bytes")

    def __init__(self, *, keep: int, max_bytes: int) -> None:
        self._free: list[bytearray] = []
        self._keep = keep
        self._max_bytes = max_bytes

    def __len__(self) -> int:
        """Buffers waiting in the pool."""
        return len(self._free)

    async def read(
        self,
        content: aiohttp.StreamReader,
        length: int,
        progress: Callable[[], None] = lambda: None,
    ) -> bytes | bytearray:
        """The whole body, exactly ``length`` bytes (its ``Content-Length``).

        A body that arrives as one chunk is returned as that chunk (no copy at all); a longer
        one is assembled in a pooled ``bytearray``: hand it back with :meth:`decode` (after a
        2xx) or :meth:`recycle`. Raises ``aiohttp.ClientPayloadError`` when the body ends
        early (as aiohttp itself does) or runs past ``length``. ``progress`` is called before
        each wait for a chunk (the read timeout starts over).
        """
        progress()
        chunk = await _next_chunk(content)
        if len(chunk) == length:
            # Usually the parser has ended the payload at its Content-Length already; if not,
            # one more read catches a body longer than announced.
            if not content.is_eof():
                progress()
                if await _next_chunk(content):
                    raise _too_long(length)
            return chunk
        buf = self._free.pop() if self._free else bytearray()
        if len(buf) > length:
            del buf[length:]  # keeps the allocation unless it shrinks below half
        elif len(buf) < length:
            buf.extend(bytes(length - len(buf)))
        view = memoryview(buf)
        filled = 0
        try:
            while chunk:
                end = filled + len(chunk)
                if end > length:  # llhttp stops at Content-Length; never trust that blindly
                    raise _too_long(length)
                view[filled:end] = chunk
                filled = end
                if filled == length and content.is_eof():
                    break  # complete, as above
                progress()
                chunk = await _next_chunk(content)
        finally:
            view.release()
        if filled != length:
            raise aiohttp.ClientPayloadError(
                f"response body ended after {filled} of its {length} bytes (Content-Length)"
            )
        return buf

    def decode(self, body: bytes | bytearray, decode: Callable[[Body], T]) -> T:
        """``decode(body)``; a pooled ``body`` is read through a view and recycled afterwards.

        On failure the buffer is not recycled: the caller still needs the body for its error.
        """
        if not isinstance(body, bytearray):
            return decode(body)
        view = memoryview(body)
        value = decode(view)
        try:
            view.release()
        except BufferError:  # the value holds on to the buffer: it must never be reused
            return value
        self.recycle(body)
        return value

    def recycle(self, buf: bytearray) -> None:
        """Return ``buf`` to the pool (unless the pool is full or ``buf`` is too large)."""
        if len(self._free) < self._keep and len(buf) <= self._max_bytes:
            self._free.append(buf)


async def _next_chunk(content: aiohttp.StreamReader) -> bytes:
    """The next chunk as it arrived from the socket (``readany()`` would join all that is
    buffered: an allocation of the body's size, the very thing the pool avoids); ``b""`` at
    the end of the body."""
    while True:
        data, end_of_http_chunk = await content.readchunk()
        if data or not end_of_http_chunk:  # (b"", True) only marks a chunked-coding boundary
            return data


def _too_long(length: int) -> aiohttp.ClientPayloadError:
    return aiohttp.ClientPayloadError(
        f"response body is longer than its Content-Length ({length} bytes)"
    )
