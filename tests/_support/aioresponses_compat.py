"""Make aioresponses 0.7.9 work with aiohttp >= 3.14.

aiohttp 3.14 added a required ``stream_writer`` argument to ``ClientResponse``; aioresponses
builds responses without it (upstream issue pnuckowski/aioresponses#289, fix in PR #288, not
released yet). aiohttp only reads ``stream_writer.output_size``, so a stub is enough. This
is a no-op on aiohttp versions without the argument. Remove once aioresponses ships the fix.
"""

from __future__ import annotations

import inspect
from typing import Any
from unittest.mock import Mock

import aioresponses.core
from aiohttp import ClientResponse

__all__ = ["install"]


def install() -> None:
    """Patch aioresponses' response factory if this aiohttp needs ``stream_writer``."""
    params = inspect.signature(ClientResponse.__init__).parameters
    if "stream_writer" not in params or getattr(aioresponses.core, "_ila_patched", False):
        return

    class CompatClientResponse(ClientResponse):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", Mock(output_size=0))
            super().__init__(*args, **kwargs)

    # aioresponses.core imports ClientResponse without re-exporting it; patching it is the point
    aioresponses.core.ClientResponse = CompatClientResponse  # type: ignore[attr-defined]
    aioresponses.core._ila_patched = True  # type: ignore[attr-defined]
