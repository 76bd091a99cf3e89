"""The file side of one harvest run: output writer, state file, seen ids. All blocking.

Nothing is created, truncated or replaced before the run has a first page to write
(:meth:`_Run.open`): a run that fails before that leaves every file as it was, and no new
one behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .._files import fsync_directory
from ._idset import IdSet
from ._options import HarvestOptions
from ._output import JsonlWriter, existing_ids
from ._paths import check_paths
from ._plan import Plan, plan_run
from ._state import load_state, remove_stale_temps, save_state


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


@contextmanager
def _naming(path: str | Path, what: str) -> Iterator[None]:
    """An OSError in the block names ``path`` as the user gave it (not a temporary file)."""
    try:
        yield
    except BrokenPipeError:  # a pipe's reader went away: no room or permission to fix
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        named = OSError(
            f"cannot write {what} {path}: {reason}; make room or fix permissions, then rerun "
            "the same command to continue"
        )
        named.errno = exc.errno
        raise named from None


class _Run:
    """Checks the paths, decides the :class:`Plan`, reads the ids already written."""

    def __init__(self, options: HarvestOptions) -> None:
        check_paths(options.out, options.state)
        self.state_path = options.state_path
        previous = None
        if self.state_path is not None:
            previous = load_state(self.state_path)
            remove_stale_temps(self.state_path)
        stdout = options.out == "-"
        out_abs = options.out if stdout else os.path.abspath(options.out)
        self.plan: Plan = plan_run(
            options,
            previous=previous,
            out_abs=out_abs,
            out_size=None if stdout else _size(options.out),
            other_out_exists=previous is not None
            and previous.out != out_abs
            and Path(previous.out).exists(),
            now=datetime.now(UTC).isoformat(),
        )
        self.options = self.plan.options
        self.mode = self.plan.mode
        self.state = self.plan.state
        self.writer: JsonlWriter | None = None
        self.seen = IdSet()  # holds a temporary file until closed
        try:
            if self.plan.keep_bytes:
                for ident in existing_ids(options.out, self.plan.keep_bytes):
                    self.seen.add(ident)
        except BaseException:
            self.seen.close()
            raise
        self.pending = dict(self.state.pending_watermarks)

    def open(self) -> None:
        """Open the output (create, truncate or keep, as planned); idempotent.

        A replaced output's old state file goes first, so no state ever describes more than
        the output holds; a new state is written as soon as the output is opened, so a rerun
        after a crash from here on resumes instead of finding an output no state describes.
        """
        if self.writer is not None:
            return
        if self.state_path is not None and self.plan.remove_old_state:
            with _naming(self.state_path, "state file"):
                self.state_path.unlink(missing_ok=True)
                fsync_directory(self.state_path)
        created = self.options.out != "-" and not os.path.exists(self.options.out)
        with _naming(self.options.out, "--out"):
            self.writer = JsonlWriter(self.options.out, keep_bytes=self.plan.keep_bytes)
        if not self.plan.save_at_open:
            return
        try:
            self.save(self.state.checkpoint, done=False, run_records=0)
        except BaseException:  # e.g. a full disk: leave no output this run created
            self.writer.close()
            self.writer = None
            if created:
                Path(self.options.out).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        """Close the output and release the id set's temporary file."""
        try:
            if self.writer is not None:
                self.writer.close()
        finally:
            self.seen.close()

    def save(self, checkpoint: str | None, *, done: bool, run_records: int) -> None:
        """Make the output durable, then record it and ``checkpoint`` in the state file."""
        assert self.writer is not None, "save() before open()"
        with _naming(self.options.out, "--out"):
            self.writer.sync()
        if self.state_path is None:
            return
        state = self.state
        state.out_bytes = self.writer.size
        state.records = len(self.seen)
        state.pending_watermarks = self.pending
        state.checkpoint = None if done else checkpoint
        if done:
            state.in_progress = False
            state.watermarks = {**state.watermarks, **self.pending}
            state.pending_watermarks = {}
            state.last_run_records = run_records
            state.last_complete_at = datetime.now(UTC).isoformat()
        with _naming(self.state_path, "state file"):
            save_state(self.state_path, state)
