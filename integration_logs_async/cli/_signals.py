"""SIGTERM handled like Ctrl-C: how schedulers and containers stop a command.

Inside :class:`SigtermCancels`, SIGTERM cancels the running task, so the command stops at
its next await and cleans up as for Ctrl-C; ``received`` then tells the command to say
"terminated" (exit 143) rather than "interrupted" (130), naming what a rerun finds.
"""

from __future__ import annotations

import asyncio
import signal
from types import TracebackType

EXIT_TERMINATED = 143
"""128 + SIGTERM, as a shell reports a process stopped by it."""


class Terminated(Exception):
    """The command was stopped by SIGTERM; the message says what a rerun finds."""

    def __init__(self, what_is_kept: str) -> None:
        super().__init__(f"terminated (SIGTERM); {what_is_kept}")


class SigtermCancels:
    """Context manager: while inside, SIGTERM cancels the current task (where the event loop
    supports signal handlers: not on Windows)."""

    def __init__(self) -> None:
        self.received = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> SigtermCancels:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None, "SigtermCancels needs a running task"

        def terminate() -> None:
            self.received = True
            task.cancel()

        try:
            loop.add_signal_handler(signal.SIGTERM, terminate)
            self._loop = loop
        except NotImplementedError:  # no signal handlers on this platform's event loop
            self._loop = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGTERM)
            self._loop = None


__all__ = ["EXIT_TERMINATED", "SigtermCancels", "Terminated"]
