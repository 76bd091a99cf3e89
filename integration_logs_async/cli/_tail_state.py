"""The ``--state FILE`` of ``integration-logs tail``: which tail, and its checkpoint.

A small JSON object (:class:`TailFileState`), replaced atomically (temporary file, fsync,
rename, fsync of the directory). A file that is not one, or the state of another tail, is
refused with a one-line :class:`UsageError` and never overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from .._files import replace_atomically
from ._common import UsageError

__all__ = ["STATE_KIND", "TailFileState", "check_tail_state", "load_tail_state", "save_tail_state"]

STATE_KIND = "integration-logs tail"
"""The ``kind`` of a tail state file."""


class TailFileState(msgspec.Struct, kw_only=True):
    """What ``--state FILE`` holds: which tail, and its checkpoint."""

    kind: str
    version: int = 1
    provider: str
    api_version: int
    listing: str
    checkpoint: str


_state_decoder = msgspec.json.Decoder(TailFileState)


def load_tail_state(path: Path) -> TailFileState | None:
    """The tail state in ``path``; None if there is no file; :class:`UsageError` (nothing
    changed) if it is something else, or if its directory cannot take the file."""
    _check_directory(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read --state {path}: {exc.strerror or exc}") from None
    try:
        state = _state_decoder.decode(data)
        if state.kind != STATE_KIND or state.version != 1:
            raise ValueError
    except (msgspec.MsgspecError, ValueError):
        raise UsageError(
            f"--state {path} is not a tail state file; nothing was changed. Give another "
            "--state FILE (a new one starts from now or --since)"
        ) from None
    return state


def _directory(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _check_directory(path: Path) -> None:
    directory = _directory(path)
    if not directory.is_dir():
        raise UsageError(
            f"--state {path}: directory {directory} does not exist; create it or give "
            "another --state FILE"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(
            f"--state {path}: cannot create files in {directory} (permission denied); give "
            "a --state FILE in a directory you can write to"
        )


def save_tail_state(path: Path, state: TailFileState) -> None:
    """Replace ``path`` with ``state`` atomically (temporary file, fsync, rename);
    :class:`UsageError` (one line) if it cannot: ``path`` is then as it was."""
    try:
        replace_atomically(path, msgspec.json.encode(state) + b"\n")
    except OSError as exc:
        raise UsageError(
            f"cannot save --state {path}: {exc.strerror or exc}; it still holds the position "
            "before the logs printed last (a rerun prints them again). Free disk space or fix "
            "the permissions, then rerun"
        ) from None


def check_tail_state(path: Path, saved: TailFileState, wanted: TailFileState) -> None:
    """:class:`UsageError` (nothing changed) unless ``saved`` is the state of the tail
    ``wanted`` describes (provider, API version, listing)."""
    if (saved.provider, saved.api_version, saved.listing) != (
        wanted.provider,
        wanted.api_version,
        wanted.listing,
    ):
        raise UsageError(
            f"--state {path} is the tail state of {saved.provider} API v{saved.api_version} "
            f"{saved.listing}, not of {wanted.provider} API v{wanted.api_version} "
            f"{wanted.listing}; nothing was changed. Give this tail another --state FILE, or "
            "rerun with the provider, --api-version and --integration that FILE was made with"
        )
