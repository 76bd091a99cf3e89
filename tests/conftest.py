"""Shared test setup: aioresponses made to work with this aiohttp (fixtures: each suite's conftest).

Helpers shared by several suites live in ``tests._support``.
"""

from __future__ import annotations

from ._support import aioresponses_compat

aioresponses_compat.install()
