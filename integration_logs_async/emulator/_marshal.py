"""Running a store or schedule change on the emulator's own event loop, from any thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

__all__ = ["MARSHAL_TIMEOUT", "call_in_loop"]

_T = TypeVar("_T")

MARSHAL_TIMEOUT = 30.0
"""Seconds a caller in another thread waits for the server's loop to run its call."""


def call_in_loop(loop: asyncio.AbstractEventLoop | None, func: Callable[[], _T]) -> _T:
    """``func()`` run by ``loop`` when that loop runs in another thread, else right here.

    The emulator's background work (arrivals) changes the store from its loop; a test
    driving a threaded emulator changes it from its own thread.  Marshalling every change
    onto the server's loop keeps them from interleaving.  The caller's thread blocks until
    the call is done (at most :data:`MARSHAL_TIMEOUT`); exceptions come back to the caller.
    """
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None or running is loop or not loop.is_running():
        return func()
    future: concurrent.futures.Future[_T] = concurrent.futures.Future()

    def call() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(func())
        except BaseException as exc:  # handed to the caller's thread
            future.set_exception(exc)

    loop.call_soon_threadsafe(call)
    try:
        return future.result(MARSHAL_TIMEOUT)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(
            f"the emulator's event loop did not run the call within {MARSHAL_TIMEOUT:g} s; "
            "is it blocked or stopping?"
        ) from None
