"""Helpers shared by the test suites: threaded emulators, clients, CLI runs, asyncio tasks.

One module per concept; a suite's own ``_helpers.py`` keeps what only that suite uses.
"""

from __future__ import annotations

__all__: list[str] = []
