"""What can go wrong with a sink, as typed errors that say what to do (no secrets in them)."""

from __future__ import annotations

from ..errors import IntegrationLogsError


class SinkError(IntegrationLogsError):
    """A harvest cannot write to its sink (``--to``); nothing half-written was committed."""


class SinkUnavailableError(SinkError):
    """The database or directory cannot be reached or opened (host down, no such path)."""


class SinkAuthError(SinkError):
    """The database refused the credentials (wrong user or password)."""


class SinkSchemaError(SinkError):
    """A table exists with another shape, or was written by a newer schema version."""


class SinkReadOnlyError(SinkError):
    """The database, table or directory cannot be written (read-only, no permission)."""


class SinkFullError(SinkError):
    """The disk or the database is full: nothing of the failed batch was committed."""


class SinkLockedError(SinkError):
    """Another harvest of the same store is writing to this sink right now."""


class SinkDependencyError(SinkError):
    """The sink's optional dependency is not installed (e.g. ``pip install
    'integration-logs-async[postgres]'``)."""


__all__ = [
    "SinkAuthError",
    "SinkDependencyError",
    "SinkError",
    "SinkFullError",
    "SinkLockedError",
    "SinkReadOnlyError",
    "SinkSchemaError",
    "SinkUnavailableError",
]
