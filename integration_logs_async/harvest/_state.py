"""The harvest state file: what has been written, and where each stream stands.

It is replaced atomically (write temp, fsync, rename, fsync directory) and only after the
output it describes has been flushed and fsynced, so after a crash at any moment the pair
(output truncated to ``out_bytes``, ``checkpoint``) is consistent.
"""

from __future__ import annotations

import glob
from pathlib import Path

import msgspec

from .._files import directory_of, replace_atomically, temp_prefix


class Watermark(msgspec.Struct, kw_only=True):
    """The newest record of one stream seen by a run (logs are listed newest first)."""

    id: str
    created_at: str | None = None


class FollowMark(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where ``--follow`` stands: the tail's start point, then its checkpoint after the last
    batch written (see :mod:`._follow`)."""

    since: str | None = None
    """The oldest ``created_at`` the follow's first poll reads down to (ISO-8601)."""
    checkpoint: str | None = None
    """The tail's checkpoint after the last followed batch made durable."""
    records: int = 0
    """Followed records written (new ids) across runs."""


class HarvestState(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Persistent state of a harvest, bound to one output file and one set of options."""

    version: int = 1
    fingerprint: str
    out: str
    out_bytes: int = 0
    records: int = 0
    in_progress: bool = True
    checkpoint: str | None = None
    run: int = 1
    run_started: str | None = None
    watermarks: dict[str, Watermark] = msgspec.field(default_factory=dict)
    pending_watermarks: dict[str, Watermark] = msgspec.field(default_factory=dict)
    last_run_records: int = 0
    last_complete_at: str | None = None
    # What the harvest reads (for messages; ``fingerprint`` is what binds). Absent from states
    # written before they were recorded.
    provider: str | None = None
    scope: str | None = None
    format: str | None = None
    integration_ids: list[str] = msgspec.field(default_factory=list)
    api_version: int | None = None
    """The provider's API version the output was harvested with; None: its default (states
    written before versions were recorded)."""
    since: str | None = None
    """The oldest ``created_at`` the output is complete from (ISO-8601); None: unbounded."""
    follow: FollowMark | None = None
    """Set by a harvest run with ``--follow`` (absent from other states)."""


_decoder = msgspec.json.Decoder(HarvestState)


def load_state(path: Path) -> HarvestState | None:
    """The state in ``path``, ``None`` if there is none; ``ValueError`` if unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return _decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise ValueError(
            f"state file {path} is not a harvest state ({exc}); nothing was changed. Give this "
            "harvest another --state (with --append it keeps the records already in the "
            "output and adds the missing ones)"
        ) from None


def remove_stale_temps(path: Path) -> None:
    """Delete temporary files of :func:`save_state` left behind by a killed run."""
    for stale in directory_of(path).glob(glob.escape(temp_prefix(path)) + "*.tmp"):
        stale.unlink(missing_ok=True)


def save_state(path: Path, state: HarvestState) -> None:
    """Atomically replace ``path`` with ``state``."""
    replace_atomically(path, msgspec.json.format(msgspec.json.encode(state), indent=2))
