"""What a run does with the output and state it is given: a pure decision, made before any
request and before any file is touched.

An output that the state file does not describe (no state, the state of another harvest, or
an output shorter than the state says) is never truncated or overwritten: the run is
refused unless ``append`` (keep it, skip the ids already in it) or ``force`` (replace it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec

from .. import providers
from ..providers import Scope
from ._options import HarvestOptions
from ._paths import HarvestFileError
from ._state import HarvestState, Watermark

Mode = Literal["fresh", "resumed", "incremental", "appended"]


@dataclass(frozen=True, kw_only=True)
class Plan:
    """How one run uses its files."""

    options: HarvestOptions
    """The options, with the scope chosen."""
    mode: Mode
    state: HarvestState
    """The state the run starts from (saved as the run goes)."""
    keep_bytes: int | None
    """Bytes of the output kept (and whose ids are read); None: the output starts empty."""
    save_at_open: bool
    """Write ``state`` as the output is opened: it describes the output from then on."""
    remove_old_state: bool
    """An old state file is removed before the output is truncated (``force``)."""
    watermarks: dict[str, Watermark]
    """Where each stream stops (the previous run's newest records)."""
    since: datetime | None
    notes: tuple[str, ...] = ()


def choose_scope(options: HarvestOptions, previous: HarvestState | None) -> Scope:
    """``options.scope``; when None, the scope of the state file's harvest, else the default."""
    if options.scope is not None:
        return options.scope
    if previous is not None:
        for scope in options.spec.harvest_scopes:
            if scope == "all" and options.integration_ids:
                continue  # not a harvest these options can continue
            if options.with_scope(scope).fingerprint() == previous.fingerprint:
                return scope
    return options.chosen_scope


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _differences(previous: HarvestState, options: HarvestOptions) -> str:
    """How the state's harvest differs from ``options``, in flags."""
    if previous.provider is None:  # a state written before the options were recorded
        return "another provider, --scope, --integration or --format"
    found = []
    if previous.provider != options.provider:
        found.append(f"provider {previous.provider}")
    if previous.scope != options.chosen_scope:
        found.append(f"--scope {previous.scope}")
    if sorted(previous.integration_ids) != sorted(options.integration_ids):
        found.append("--integration " + (" ".join(previous.integration_ids) or "(all)"))
    if previous.format != options.format:
        found.append(f"--format {previous.format}")
    if (
        previous.provider == options.provider
        and _version_of(previous, options) != options.chosen_api_version
    ):
        found.append(f"--api-version {_version_of(previous, options)}")
    return "made with " + (", ".join(found) or "other options")


def _version_of(previous: HarvestState, options: HarvestOptions) -> int:
    """The API version ``previous``, a harvest of ``options.provider``, was harvested with
    (unrecorded: the provider's default)."""
    if previous.api_version is not None:
        return previous.api_version
    return providers.spec(options.provider).api_version


def _other_version(previous: HarvestState, options: HarvestOptions, out_abs: str) -> str | None:
    """Why ``previous``, a harvest of this output with another API version of the same
    provider, is not continued by ``options``, and what to do; None when it is not one."""
    if previous.out != out_abs or previous.provider != options.provider:
        return None
    before, now = _version_of(previous, options), options.chosen_api_version
    if before == now:
        return None
    title = options.spec.title
    append = (
        f" --append to add API v{now} records to it (records already in it are skipped),"
        if options.format == "normalized"  # one schema whatever the version: they may mix
        else ""
    )
    return (
        f"--out {options.out} was harvested with {title} API v{before} (state file "
        f"{options.state_path}) and this harvest reads API v{now}; nothing was changed. Rerun "
        f"with --api-version {before} to continue it,{append} --force to replace it with API "
        f"v{now} records, or give this harvest another --out"
    )


def _new_state(options: HarvestOptions, out_abs: str, now: str, out_bytes: int) -> HarvestState:
    return HarvestState(
        fingerprint=options.fingerprint(),
        out=out_abs,
        out_bytes=out_bytes,
        run_started=now,
        provider=options.provider,
        scope=options.chosen_scope,
        format=options.format,
        integration_ids=list(options.integration_ids),
        api_version=options.chosen_api_version,
        since=_iso(options.since),
    )


def plan_run(
    options: HarvestOptions,
    *,
    previous: HarvestState | None,
    out_abs: str,
    out_size: int | None,
    other_out_exists: bool,
    now: str,
) -> Plan:
    """Decide how the run uses its files, or raise :class:`HarvestFileError`.

    ``out_size``: bytes in the output (None: no such file). ``other_out_exists``: the
    previous state is another output's, and that file still exists.
    """
    options = options.with_scope(choose_scope(options, previous))
    state_label = str(options.state_path)
    out = options.out
    if previous is not None and previous.out != out_abs and other_out_exists:
        raise HarvestFileError(
            f"state file {state_label} belongs to the harvest into {previous.out}, which still "
            f"exists; nothing was changed. Give this harvest its own --state (the default is "
            f"{out}.state.json)"
        )
    size = out_size or 0
    same = (
        previous is not None
        and previous.fingerprint == options.fingerprint()
        and previous.out == out_abs
    )
    if options.force or (size == 0 and not same):
        return Plan(
            options=options,
            mode="fresh",
            state=_new_state(options, out_abs, now, 0),
            keep_bytes=None,
            save_at_open=True,
            remove_old_state=previous is not None,
            watermarks={},
            since=options.since,
        )
    if (
        same
        and previous is not None
        # Bytes past the state's size are this harvest's own only while a run is in
        # progress (written after its last save; the rerun truncates and re-fetches them).
        # After a complete run they are someone else's: never truncated unasked.
        and (size == previous.out_bytes or (size > previous.out_bytes and previous.in_progress))
    ):
        return _continue(options, previous, now)
    other_version = None if previous is None else _other_version(previous, options, out_abs)
    if other_version is not None and not (options.append and options.format == "normalized"):
        raise HarvestFileError(other_version)
    if options.append:
        return _append(options, previous, out_abs, size, now)
    keep = "nothing was changed. Rerun with --append to add to it (records already in it are "
    keep += "skipped) or --force to replace it"
    if previous is None or previous.out != out_abs:
        which = (
            f"{state_label} does not exist"
            if previous is None
            else f"{state_label} belongs to the harvest into {previous.out}"
        )
        raise HarvestFileError(
            f"--out {out} already holds {size:,} bytes that no state file describes ({which}); "
            f"{keep}, or choose another --out"
        )
    if not same:
        raise HarvestFileError(
            f"--out {out} holds another harvest's records (state file {state_label}: "
            f"{_differences(previous, options)}); {keep}, or give this harvest another --out"
        )
    if size > previous.out_bytes:
        raise HarvestFileError(
            f"--out {out} holds {size:,} bytes, more than the {previous.out_bytes:,} its "
            f"complete harvest wrote (state file {state_label}): something was added to it; "
            f"{keep}"
        )
    holds = "does not exist" if out_size is None else f"holds {size:,} bytes"
    raise HarvestFileError(
        f"--out {out} {holds} but state file {state_label} says {previous.out_bytes:,} bytes "
        "were written: it was modified, moved or replaced; nothing was changed. Restore it, or "
        "rerun with --append to keep what it holds and add what it lacks, or --force to "
        "replace it"
    )


def _continue(options: HarvestOptions, previous: HarvestState, now: str) -> Plan:
    """Resume an interrupted run, or start an incremental one, applying ``since``."""
    mode: Mode = "resumed" if previous.in_progress else "incremental"
    state = msgspec.structs.replace(  # records the options of states written before that
        previous,
        provider=options.provider,
        scope=options.chosen_scope,
        format=options.format,
        integration_ids=list(options.integration_ids),
        api_version=options.chosen_api_version,
    )
    if mode == "incremental":
        state = msgspec.structs.replace(
            state,
            in_progress=True,
            checkpoint=None,
            run=previous.run + 1,
            run_started=now,
            pending_watermarks={},
        )
    before = _parse(previous.since)
    since = options.since if options.since is not None else before
    notes: tuple[str, ...] = ()
    if since is not None and before is not None and since < before:
        # The output is complete from ``before`` only: read every stream again down to
        # ``since``; the ids already in the output are skipped.
        state = msgspec.structs.replace(
            state, in_progress=True, checkpoint=None, watermarks={}, pending_watermarks={}
        )
        notes = (
            f"--since {since.isoformat()} reaches further back than this harvest did "
            f"({before.isoformat()}): every stream was read again down to it; records "
            f"already in {options.out} were skipped",
        )
    state.since = _iso(since)
    return Plan(
        options=options,
        mode=mode,
        state=state,
        keep_bytes=previous.out_bytes,
        # an incremental run marks its state in progress before it writes a byte, so bytes
        # past the state's size after a crash are known to be its own
        save_at_open=bool(notes) or mode == "incremental",
        remove_old_state=False,
        watermarks=dict(state.watermarks),
        since=since,
        notes=notes,
    )


def _append(
    options: HarvestOptions, previous: HarvestState | None, out_abs: str, size: int, now: str
) -> Plan:
    """Keep the output as it is and add to it, skipping the ids it already holds."""
    base = size
    if previous is not None and previous.out == out_abs:
        if previous.provider is not None and (
            previous.provider != options.provider or previous.format != options.format
        ):
            raise HarvestFileError(
                f"--append would mix records: {options.out} holds {previous.format} "
                f"{previous.provider} records (state file {options.state_path}) and this "
                f"harvest writes {options.format} {options.provider} records; nothing was "
                "changed. Give this harvest another --out"
            )
        if previous.in_progress and previous.out_bytes <= size:
            base = previous.out_bytes  # past it: an interrupted write of that harvest
    return Plan(
        options=options,
        mode="appended",
        state=_new_state(options, out_abs, now, base),
        keep_bytes=base,
        save_at_open=True,
        remove_old_state=False,
        watermarks={},
        since=options.since,
    )
