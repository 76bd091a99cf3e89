"""The logs of many Sendcloud integrations as one fan-out (every API version)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from ..._fanout import FanOutOptions, FanOutStream, Source, StreamFactory
from ...stream import AsyncStream
from .._base import check_page_size, path_id
from .._spec import ProviderSpec


class _Listings(Protocol):
    @property
    def spec(self) -> ProviderSpec: ...

    def integrations(self) -> AsyncStream[Any]: ...

    def integration_logs(
        self, integration_id: int | str, *, page_size: int | None, resume_from: str | None
    ) -> AsyncStream[Any]: ...


def integrations_fanout(
    client: _Listings,
    ids: Sequence[int | str] | None,
    page_size: int | None,
    options: FanOutOptions,
) -> FanOutStream[Any]:
    """The logs of the integrations ``ids`` (all when None, listed in one request first)."""
    check_page_size(page_size, client.spec.max_page_size)
    chosen = None if ids is None else [path_id(i, "integration id") for i in ids]

    def factory(ident: str) -> StreamFactory:
        return lambda cp: client.integration_logs(ident, page_size=page_size, resume_from=cp)

    async def sources() -> AsyncIterator[tuple[Source, StreamFactory]]:
        if chosen is not None:
            idents = chosen
        else:
            idents = [str(i.id) for i in await client.integrations().collect()]
        for ident in idents:
            yield Source(f"integration {ident}", integration_id=ident), factory(ident)

    return FanOutStream(
        f"{client.spec.checkpoint_name}:logs_for_integrations",
        sources,
        listing="listing the integrations",
        **options,
    )


__all__ = ["integrations_fanout"]
