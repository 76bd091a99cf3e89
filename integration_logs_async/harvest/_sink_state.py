"""A sink harvest's state, kept in the sink next to its rows, and how a run uses it (pure).

The sink stores it as an opaque JSON document per (provider, store, harvest) and commits it
in the same transaction as the rows it covers (:mod:`integration_logs_async.sinks`), so
there is no local state file: the checkpoint of the streams after the rows of the last
committed batch, the previous complete run's newest record per stream (the watermarks where
an incremental run stops), and ``since``. It mirrors the file harvest's
:class:`~._state.HarvestState` without the file's fields (output path, size, format).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import msgspec

from ._options import HarvestOptions
from ._plan import Mode
from ._state import Watermark

STATE_VERSION = 1


class SinkState(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where one harvest definition of one store stands (the JSON in ``<table>_state``)."""

    version: int = STATE_VERSION
    harvest: str
    """:func:`harvest_key` of the options (the state row's key)."""
    provider: str
    scope: str
    integration_ids: list[str] = msgspec.field(default_factory=list)
    api_version: int
    in_progress: bool = True
    checkpoint: str | None = None
    """The streams' checkpoint after the last committed batch (None: from the start)."""
    run: int = 1
    run_started: str | None = None
    watermarks: dict[str, Watermark] = msgspec.field(default_factory=dict)
    """Each stream's newest record as of the last complete run: where the next one stops."""
    pending_watermarks: dict[str, Watermark] = msgspec.field(default_factory=dict)
    """Each stream's newest record seen by the run in progress (watermarks once complete)."""
    since: str | None = None
    """The oldest ``created_at`` the store is complete from (ISO-8601); None: unbounded."""
    records: int = 0
    """Rows this harvest definition inserted into the store, across runs."""
    last_run_records: int = 0
    last_complete_at: str | None = None


_decoder = msgspec.json.Decoder(SinkState)


def encode_state(state: SinkState) -> bytes:
    """``state`` as the JSON document the sink stores."""
    return msgspec.json.encode(state)


def decode_state(blob: bytes, where: str) -> SinkState:
    """The state in ``blob``; ``ValueError`` naming ``where`` if it is not one of ours."""
    try:
        state = _decoder.decode(blob)
    except msgspec.MsgspecError as exc:
        raise ValueError(
            f"the harvest state stored for {where} is not a state this version reads ({exc}); "
            "nothing was changed. Something else wrote that row: restore the state table from "
            "a backup, or harvest into another table (?table=NAME)"
        ) from None
    if state.version > STATE_VERSION:
        raise ValueError(
            f"the harvest state stored for {where} was written by a newer integration-logs "
            f"(state version {state.version}); nothing was changed. Upgrade to continue it"
        )
    return state


def harvest_key(options: HarvestOptions) -> str:
    """What a harvest reads, as the state row's key: its scope, then a hash of provider,
    scope, integration ids and API version (not ``since``: the state records it). Stable
    across releases and runs; the same for the same options in any order."""
    parts = [
        options.provider,
        options.chosen_scope,
        ",".join(sorted(options.integration_ids)),
        f"api_version={options.chosen_api_version}",
    ]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return f"{options.chosen_scope}:{digest}"


@dataclass(frozen=True, kw_only=True)
class SinkPlan:
    """How one run into a sink starts."""

    mode: Mode
    """fresh (never harvested), resumed (in progress) or incremental (last run complete)."""
    state: SinkState
    """The state the run starts from (written with each batch)."""
    watermarks: dict[str, Watermark]
    since: datetime | None
    notes: tuple[str, ...] = ()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def plan_sink_run(
    options: HarvestOptions, previous: SinkState | None, *, now: str, where: str
) -> SinkPlan:
    """Resume an interrupted run, start an incremental one, or start afresh; ``since`` as the
    file harvest applies it: later than before narrows what is read, earlier reads every
    stream again down to it (the rows already in the store are not written twice)."""
    if previous is None:
        state = SinkState(
            harvest=harvest_key(options),
            provider=options.provider,
            scope=options.chosen_scope,
            integration_ids=sorted(options.integration_ids),
            api_version=options.chosen_api_version,
            run_started=now,
            since=_iso(options.since),
        )
        return SinkPlan(mode="fresh", state=state, watermarks={}, since=options.since)
    mode: Mode = "resumed" if previous.in_progress else "incremental"
    state = msgspec.structs.replace(previous)
    if mode == "incremental":
        state = msgspec.structs.replace(
            state,
            in_progress=True,
            checkpoint=None,
            run=previous.run + 1,
            run_started=now,
            pending_watermarks={},
        )
    before = None if previous.since is None else datetime.fromisoformat(previous.since)
    since = options.since if options.since is not None else before
    notes: tuple[str, ...] = ()
    if since is not None and before is not None and since < before:
        state = msgspec.structs.replace(
            state, in_progress=True, checkpoint=None, watermarks={}, pending_watermarks={}
        )
        notes = (
            f"--since {since.isoformat()} reaches further back than this harvest did "
            f"({before.isoformat()}): every stream was read again down to it; records "
            f"already in {where} were not written twice",
        )
    state.since = _iso(since)
    return SinkPlan(
        mode=mode, state=state, watermarks=dict(state.watermarks), since=since, notes=notes
    )


__all__ = [
    "STATE_VERSION",
    "SinkPlan",
    "SinkState",
    "decode_state",
    "encode_state",
    "harvest_key",
    "plan_sink_run",
]
