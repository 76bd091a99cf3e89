"""Timestamp normalisation shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """``value`` with UTC assumed when the provider sent no offset."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
