"""Checks of the output and state paths, before the first request.

Each message names the path as the user gave it and says what to do.
"""

from __future__ import annotations

import os
from pathlib import Path


class HarvestFileError(ValueError):
    """The output or state file cannot be used as asked; nothing was changed."""


def _directory(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _check_file(flag: str, given: str, example: str) -> None:
    """``flag``: how the user named the path (``--out``, ``--state`` or ``state file``)."""
    path = Path(given)
    if path.is_dir():
        raise HarvestFileError(f"{flag} {given} is a directory; give a file path, e.g. {example}")
    directory = _directory(path)
    if not directory.exists():
        raise HarvestFileError(
            f"{flag} {given}: directory {directory} does not exist; create it "
            f"(mkdir -p {directory}) or choose another {_option(flag)}"
        )
    if not directory.is_dir():
        raise HarvestFileError(
            f"{flag} {given}: {directory} is not a directory; choose another {_option(flag)}"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise HarvestFileError(
            f"{flag} {given}: cannot create files in directory {directory} (permission "
            f"denied); choose a {_option(flag)} in a directory you can write to"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise HarvestFileError(
            f"{flag} {given} cannot be read and written (permission denied); fix its "
            f"permissions or choose another {_option(flag)}"
        )


def _option(flag: str) -> str:
    return flag if flag.startswith("--") else "--state"


def _same_file(a: str, b: str) -> bool:
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return Path(a).resolve() == Path(b).resolve()


def check_paths(out: str, state: str | None) -> None:
    """Refuse an output or state path the harvest could not use (``out="-"``: stdout).

    ``state`` is the state path as given (None: the default, ``OUT.state.json``).
    """
    if out == "-":
        return
    _check_file("--out", out, os.path.join(out, "logs.jsonl"))
    if state is None:
        _check_file("state file", out + ".state.json", out + ".harvest-state.json")
        return
    _check_file("--state", state, out + ".state.json")
    if _same_file(out, state):
        raise HarvestFileError(
            f"--state {state} and --out {out} are the same file: saving the state would "
            f"overwrite the records; give the state its own file, e.g. {out}.state.json"
        )
