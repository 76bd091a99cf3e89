"""A user's module: must type-check with mypy --strict against the installed package."""

from __future__ import annotations

from integration_logs_async import BasicAuth, SendcloudClient
from integration_logs_async.emulator import Emulator


async def newest_failure_status(emu: Emulator) -> int | None:
    """The status code of the newest log, read through the public API."""
    auth = BasicAuth(emu.sendcloud_public_key, emu.sendcloud_secret_key)
    async with SendcloudClient(auth, base_url=emu.sendcloud_url) as client:
        async for log in client.logs(max_items=1):
            status: int | None = log.response_code
            return status
    return None
