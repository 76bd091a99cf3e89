"""An emulator served from its own thread and event loop."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from types import TracebackType
from typing import Unpack

from integration_logs_async.emulator import Emulator, EmulatorConfig, EmulatorOptions

__all__ = ["ThreadedEmulator"]

_WAIT = 30.0  # seconds to start or stop the server
_JOIN = 5.0  # seconds for its thread to end once its loop is stopped


class ThreadedEmulator:
    """An :class:`Emulator` served by a background thread with its own event loop.

    The server's tasks then live in another loop: the test's loop holds only the client's
    tasks (leaks are easy to spot), and synchronous code such as the CLI's ``main()`` can run
    its own ``asyncio.run`` in the test's thread. Use ``with`` (blocks while the server
    starts and stops) or ``async with`` (the test's loop keeps running meanwhile); both give
    the :class:`Emulator`. Takes what :class:`Emulator` takes: a config and/or its fields.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, /, **options: Unpack[EmulatorOptions]
    ) -> None:
        self.emu = Emulator(config, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="threaded-emulator", daemon=True
        )

    def _start(self) -> Future[Emulator]:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.emu.start(), self._loop)

    def _stop(self) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(self.emu.stop(), self._loop)

    def _end_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    def __enter__(self) -> Emulator:
        try:
            return self._start().result(_WAIT)
        except BaseException:
            self._end_loop()
            self._thread.join(_JOIN)
            self._loop.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._stop().result(_WAIT)
        finally:
            self._end_loop()
            self._thread.join(_JOIN)
            self._loop.close()

    async def __aenter__(self) -> Emulator:
        try:
            return await asyncio.wrap_future(self._start())
        except BaseException:
            self._end_loop()
            await asyncio.to_thread(self._thread.join, _JOIN)
            self._loop.close()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await asyncio.wrap_future(self._stop())
        finally:
            self._end_loop()
            await asyncio.to_thread(self._thread.join, _JOIN)
            self._loop.close()
