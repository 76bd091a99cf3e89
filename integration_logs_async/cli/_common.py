"""Shared pieces of the command line: exit codes, usage errors, argument types."""

from __future__ import annotations

import argparse
from datetime import datetime

import msgspec

from ..errors import (
    APIError,
    AuthenticationError,
    DecodeError,
    FanOutError,
    IntegrationLogsError,
    PaginationError,
    PermissionDeniedError,
    ResponseTooLargeError,
    TransportError,
    UnsafeURLError,
)
from ..sinks import (
    SinkAuthError,
    SinkDependencyError,
    SinkError,
    SinkFullError,
    SinkLockedError,
    SinkReadOnlyError,
    SinkSchemaError,
)

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_REMOTE, EXIT_DATA, EXIT_INTERRUPTED = 0, 2, 3, 4, 5, 130
EXIT_LOCKED = 6
"""Another harvest of the same store is writing to the sink: nothing was done (a scheduler
may treat it as "still running")."""
EXIT_PARTIAL = 7
"""``fleet run``: some store did not complete (failed, incomplete, or locked by another run);
the others were harvested."""


class UsageError(Exception):
    """Bad command-line input or environment."""


def since_arg(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since {text!r} is not ISO-8601, e.g. 2024-05-01T00:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--since {text!r} needs a timezone, e.g. a trailing Z")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):  # NaN fails the comparison
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A number >= 0 (e.g. ``--rate-limit 0``: no pacing)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):  # NaN fails the comparison
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def exit_code_for(exc: BaseException) -> int:
    """The process exit code for a failure."""
    if isinstance(exc, SinkError):
        return _sink_exit_code(exc)
    if isinstance(exc, FanOutError) and exc.failures:
        return exit_code_for(next(iter(exc.failures.values())))
    if isinstance(exc, msgspec.DecodeError):  # a ValueError, but about the data
        return EXIT_DATA
    if isinstance(exc, UsageError | ValueError | OSError):  # OSError: the output or state file
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(exc, DecodeError | PaginationError | UnsafeURLError | ResponseTooLargeError):
        return EXIT_DATA
    if isinstance(exc, APIError | TransportError | IntegrationLogsError):
        return EXIT_REMOTE
    return 1


def _sink_exit_code(exc: SinkError) -> int:
    """A sink's failure as the table above reads: the lock 6; its credentials 3 (like the
    API's); a table of another shape 5 (data); a missing extra, a read-only or full target 2
    (like the output file's); unreachable 4 (remote: retry later)."""
    if isinstance(exc, SinkLockedError):
        return EXIT_LOCKED
    if isinstance(exc, SinkAuthError):
        return EXIT_AUTH
    if isinstance(exc, SinkSchemaError):
        return EXIT_DATA
    if isinstance(exc, SinkDependencyError | SinkReadOnlyError | SinkFullError):
        return EXIT_USAGE
    return EXIT_REMOTE
