"""Views of what an emulator's store holds: ids and exact bytes, as the server lists them."""

from __future__ import annotations

from integration_logs_async.emulator import Emulator

__all__ = ["child_ids", "store_ids", "store_raw", "store_records"]


def store_ids(emu: Emulator, provider: str) -> list[str]:
    """Ids of every log of ``provider``, newest first, as strings."""
    return [str(i) for i in emu.store.logs(provider).ids()]  # type: ignore[arg-type]


def store_raw(emu: Emulator, provider: str) -> list[bytes]:
    """The exact JSON bytes of every log of ``provider``, newest first."""
    return list(emu.store.logs(provider))  # type: ignore[arg-type]


def store_records(emu: Emulator, provider: str) -> dict[str, bytes]:
    """Id -> exact JSON bytes of every log of ``provider`` in the emulator's store."""
    view = emu.store.logs(provider)  # type: ignore[arg-type]
    return {str(ident): raw for ident, raw in zip(view.ids(), view, strict=True)}


def child_ids(
    emu: Emulator, provider: str, integration_id: str, job_id: str | None = None
) -> list[str]:
    """Ids of one integration's (or job's) logs, newest first, as the emulator lists them."""
    if provider == "sendcloud":
        return [str(i) for i in emu.store.sendcloud_logs_for(int(integration_id)).ids()]
    return [str(i) for i in emu.store.elasticpath_logs_for(integration_id, job_id).ids()]
