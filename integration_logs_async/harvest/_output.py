"""Writing harvested records as JSON Lines, losslessly or normalised."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

import msgspec

from ..fanout import Source
from ..providers import Normalizer
from ..records import RawRecord
from ._normalize import normalize

OutputFormat = Literal["raw", "normalized"]

_encode = msgspec.json.encode
_json_object = msgspec.json.Decoder(dict[str, object])


def _compact(raw: bytes) -> bytes:
    """``raw`` on one line: re-encoded only if the server pretty-printed it."""
    if b"\n" not in raw and b"\r" not in raw:
        return raw
    return _encode(_json_object.decode(raw))


def lossless_line(record: RawRecord, source: Source) -> bytes:
    """The server's record bytes, plus ``"_source"`` when the record lacks its owners.

    Everything the server sent is kept as sent: the line minus the appended ``_source``
    member is the server's record byte for byte (re-encoded compactly only when the server
    sent it across several lines, which JSON Lines cannot hold).
    """
    raw = _compact(record.raw).rstrip()
    extra: dict[str, str] = {}
    if record.integration_id is None and source.integration_id is not None:
        extra["integration_id"] = source.integration_id
    if record.job_id is None and source.job_id is not None:
        extra["job_id"] = source.job_id
    if not extra or not raw.endswith(b"}"):
        return raw + b"\n"
    body = raw[:-1].rstrip()
    separator = b"" if body.endswith(b"{") else b","
    return body + separator + b'"_source":' + _encode(extra) + b"}\n"


class JsonlWriter:
    """Appends lines to a file (or stdout); knows how many bytes are durably written."""

    def __init__(self, path: str, *, keep_bytes: int | None) -> None:
        """Open ``path``; ``keep_bytes=None`` starts it empty, else truncates to that size."""
        self.path = path
        self._stdout = path == "-"
        if self._stdout:
            self._handle: BinaryIO = sys.stdout.buffer
            self.size = 0
            return
        target = Path(path)
        if keep_bytes is None:
            self._handle = open(target, "wb", buffering=1 << 20)  # noqa: SIM115
            self.size = 0
            return
        _check_size(target, keep_bytes)
        if not target.exists():  # nothing had been written to it: recreate it
            target.touch()
        self._handle = open(target, "r+b", buffering=1 << 20)  # noqa: SIM115
        self._handle.truncate(keep_bytes)
        self._handle.seek(keep_bytes)
        self.size = keep_bytes

    def write(self, line: bytes) -> None:
        """Append one line (buffered)."""
        self._handle.write(line)
        self.size += len(line)

    def sync(self) -> None:
        """Flush and fsync: every byte written so far survives a crash."""
        self._handle.flush()
        if not self._stdout:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Flush and close (stdout is flushed, not closed)."""
        if self._stdout:
            self._handle.flush()
        else:
            self._handle.close()


def _check_size(target: Path, keep_bytes: int) -> None:
    actual = target.stat().st_size if target.exists() else 0
    if actual < keep_bytes:
        raise ValueError(
            f"output file {target} holds {actual:,} bytes but the state file says "
            f"{keep_bytes:,} were written: it was modified or replaced; nothing was changed. "
            "Restore it, or rerun with --append (keeps what it holds) or --force (replaces it)"
        )


class _Id(msgspec.Struct):
    id: int | str


def existing_ids(path: str, size: int) -> Iterator[str]:
    """Ids of the records in the first ``size`` bytes of a JSON Lines output file."""
    _check_size(Path(path), size)
    if size == 0:
        return
    decoder = msgspec.json.Decoder(_Id)
    read = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            read += len(line)
            if read > size:
                return
            try:
                if not line.endswith(b"\n"):
                    raise msgspec.DecodeError("the line is cut short")
                ident = decoder.decode(line).id
            except msgspec.DecodeError as exc:
                raise ValueError(
                    f"output file {path} line {number} is not a harvested record ({exc}); "
                    "nothing was changed. Restore the file, or choose another --out (--force "
                    "would replace it)"
                ) from None
            yield str(ident)


def encode_line(
    record: RawRecord, source: Source, fmt: OutputFormat, normalizer: Normalizer
) -> bytes:
    """One output line for ``record`` in format ``fmt`` (``normalizer``: the provider's)."""
    if fmt == "raw":
        return lossless_line(record, source)
    return _encode(normalize(normalizer, record, source)) + b"\n"
