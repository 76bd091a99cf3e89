"""Errors an :class:`~._server.Emulator` raises when it cannot serve."""

from __future__ import annotations

import errno

__all__ = ["EmulatorBindError", "EmulatorLoopError"]


class EmulatorBindError(OSError):
    """The emulator could not listen on ``host:port`` (port taken, not allowed, bad host).

    ``errno`` is the operating system's code (e.g. ``errno.EADDRINUSE``), ``reason`` says
    what went wrong in words; the message names the address and what to do.
    """

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        self.host = host
        self.port = port
        if cause.errno == errno.EADDRINUSE:
            self.reason = "the port is already in use"
        elif cause.errno == errno.EACCES:
            self.reason = "permission denied (ports below 1024 need privileges)"
        else:
            self.reason = str(cause.strerror or cause)
        self.port_problem = cause.errno in (errno.EADDRINUSE, errno.EACCES)
        advice = "pick another port, or port 0 for a free one"
        if not self.port_problem:
            advice = "check the host address"
        super().__init__(cause.errno, f"cannot listen on {host}:{port}: {self.reason}; {advice}")

    def __str__(self) -> str:
        return str(self.strerror)


class EmulatorLoopError(RuntimeError):
    """A client was asked for while the emulator's event loop is not running (another loop
    runs the caller), so the emulator could never answer it."""
