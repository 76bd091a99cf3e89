"""Fleet test fixtures: ``postgres`` (a throwaway server per session) and ``pg_dsn`` (a fresh
database per test), from :mod:`tests._support.postgres`."""

from __future__ import annotations

from .._support.postgres import pg_dsn, postgres

__all__ = ["pg_dsn", "postgres"]
