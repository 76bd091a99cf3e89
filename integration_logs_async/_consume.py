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
import operator
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

T = TypeVar("T")
P = TypeVar("P")


class PageProgress(Generic[T]):
    """How many records of one page the consumer has taken, with no per-record bookkeeping.

    The page's records are handed out from one list iterator. While the consumer holds a
    record, the iterator has already moved past it, so ``taken`` is the page length minus
    what the iterator still holds: exact at every suspension point of a generator that does
    ``for item in progress: yield item``.
    """

    __slots__ = ("_iterator", "items")

    def __init__(self, items: Sequence[T], *, all_taken: bool = False) -> None:
        self.items = items if type(items) is list or isinstance(items, tuple) else list(items)
        self._iterator: Iterator[T] = iter(() if all_taken else self.items)

    def __iter__(self) -> Iterator[T]:
        return self._iterator

    @property
    def taken(self) -> int:
        """Records of :attr:`items` handed out so far."""
        return len(self.items) - operator.length_hint(self._iterator)


NO_PAGE: PageProgress[Any] = PageProgress(())
"""Progress when no page is being consumed record by record (nothing taken)."""


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

    def _drop_callback(self) -> Callable[[weakref.ref[Any]], None] | None:
        """Called (with the weakref) as soon as the consumer drops the iterator, before asyncio
        finalises it; a subclass may stop background work there. None: nothing to do."""
        return None

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
        self._iterator = weakref.ref(gen, self._drop_callback())
        return gen

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
