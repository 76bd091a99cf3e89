"""HTTP header values that tests build by hand."""

from __future__ import annotations

import base64

__all__ = ["basic_authorization"]


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` value of HTTP Basic for ``user:password``."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
