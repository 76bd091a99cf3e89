"""Iterate-once machinery shared by :class:`AsyncStream` and :class:`FanOutStream`.

Both are consumed once, either record by record (``async for``) or page by page
(``pages()``), and both must release everything when the consumer stops early. The iterator
is held *weakly*: a stream must not keep its iterator alive (the iterator's frame refers back
to the stream, a cycle only the cyclic GC breaks), so that once the consumer drops it, e.g. by
breaking out of ``async for``, asyncio finalises it at once and prefetching stops.
"""

from __future__ import annotations

import abc
import asyncio
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

T = TypeVar("T")
P = TypeVar("P")


class ConsumeOnce(abc.ABC, Generic[T, P]):
    """Base of the stream types: records of type ``T``, pages of type ``P``."""

    _noun: ClassVar[str] = "stream"  # for messages: "this stream was already iterated"

    _started: bool = False
    _iterator: weakref.ref[Any] | None = None
    _finished: asyncio.Event | None = None  # set by the generators once they cleaned up

    @abc.abstractmethod
    def _records(self) -> AsyncGenerator[T, None]:
        """The record generator behind ``async for``."""

    @abc.abstractmethod
    def _pages(self) -> AsyncGenerator[P, None]:
        """The page generator behind :meth:`pages`."""

    def _wrap(self, gen: AsyncGenerator[Any, None]) -> AsyncIterator[Any]:
        """The iterator handed to the consumer (a subclass may add behaviour on drop)."""
        return gen

    def _claim(self, *, check_only: bool = False) -> None:
        if self._started:
            name = self._noun.replace("-", "")
            raise RuntimeError(
                f"this {self._noun} was already iterated; create a new one (pass "
                f"resume_from={name}.checkpoint to continue where it stopped)"
            )
        if not check_only:
            self._started = True

    def _begin(self, gen: AsyncGenerator[Any, None]) -> AsyncIterator[Any]:
        self._claim()
        iterator = self._wrap(gen)
        self._iterator = weakref.ref(iterator)
        return iterator

    def __aiter__(self) -> AsyncIterator[T]:
        return self._begin(self._records())

    def pages(self) -> AsyncIterator[P]:
        """Iterate page by page. A page's records count as consumed when it is yielded."""
        return self._begin(self._pages())

    async def collect(self) -> list[T]:
        """All (remaining) records as a list. Mind memory on large listings."""
        return [item async for item in self]

    async def aclose(self) -> None:
        """Stop: cancel prefetching or children and release connections. Idempotent."""
        iterator = None if self._iterator is None else self._iterator()
        if iterator is not None:
            await iterator.aclose()
        elif self._finished is not None:
            await self._finished.wait()  # a dropped iterator is being finalised by asyncio

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
