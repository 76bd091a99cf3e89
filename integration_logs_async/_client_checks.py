"""Argument checks shared by streams, fan-outs and clients (pure)."""

from __future__ import annotations

from typing import Any


def is_count(value: Any) -> bool:
    """Whether ``value`` is a real integer (``bool`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_count(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> None:
    """``ValueError`` unless ``value`` is an integer in ``minimum..maximum``."""
    if not is_count(value) or value < minimum or (maximum is not None and value > maximum):
        allowed = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
