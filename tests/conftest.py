"""Shared test setup: aioresponses compatibility and record factories."""

from __future__ import annotations

from . import _aioresponses_compat

_aioresponses_compat.install()
