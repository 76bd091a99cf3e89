"""Rendering a stores file (TOML ``[[store]]`` tables) for an emulated fleet; pure functions.

The fleet's stores file holds only environment-variable references for credentials
(``"$EMU_STORE_000_SK"``), never their values, as the fleet commands expect.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["RESERVED_KEYS", "check_env_prefix", "render_stores_toml", "toml_value"]

RESERVED_KEYS = frozenset({"name", "provider", "api_version", "base_url", "credentials"})
"""Keys of a ``[[store]]`` table the fleet writes itself (extra keys may not override them)."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_HEADER = (
    "# Stores file of an emulated fleet (integration_logs_async.emulator.EmulatorFleet).\n"
    "# Credentials are environment-variable references: export the variables the fleet\n"
    "# printed (EmulatorFleet.env(), or the `env` of `--stores ... --json`) before using it.\n"
)


def check_env_prefix(prefix: str) -> str:
    """``prefix`` if it can start an environment variable name, else ValueError."""
    if not isinstance(prefix, str) or not _ENV_NAME.fullmatch(prefix):
        raise ValueError(
            f"environment variable prefix {prefix!r} must be letters, digits and underscores, "
            "not starting with a digit (e.g. 'EMU')"
        )
    return prefix


def toml_value(value: object, key: str) -> str:
    """``value`` as a TOML value (str, bool, int, finite float, or a list of those).

    ValueError naming ``key`` for anything else.
    """
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"stores file key {key!r}: {value!r} is not a finite number")
        return repr(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(item, key) for item in value) + "]"
    raise ValueError(
        f"stores file key {key!r}: {type(value).__name__} values cannot be written; "
        "use a string, number, boolean or a list of them"
    )


def _check_extra(extra: Mapping[str, Any]) -> None:
    for key in extra:
        if key in RESERVED_KEYS:
            raise ValueError(
                f"stores file key {key!r} is written by the fleet itself; "
                "extra keys are for settings such as rate_limit or scope"
            )
        if not _BARE_KEY.fullmatch(key):
            raise ValueError(f"stores file key {key!r} must be letters, digits, '_' or '-'")


def render_stores_toml(
    stores: Sequence[Mapping[str, Any]], extra: Mapping[str, Any] | None = None
) -> str:
    """A stores file with one ``[[store]]`` table per entry of ``stores``.

    Each entry has ``name``, ``provider``, ``api_version`` (None: omitted), ``base_url``
    and ``credentials`` (credential key -> ``"$VAR"`` reference); ``extra`` keys (None
    values omitted) follow in every table.  ValueError for a key or value TOML cannot
    hold, or an extra key the fleet writes itself.
    """
    extra = dict(extra or {})
    _check_extra(extra)
    parts = [_HEADER]
    for store in stores:
        lines = ["", "[[store]]"]
        for key in ("name", "provider", "api_version", "base_url"):
            if store.get(key) is not None:
                lines.append(f"{key} = {toml_value(store[key], key)}")
        for key, value in extra.items():
            if value is not None:
                lines.append(f"{key} = {toml_value(value, key)}")
        credentials = ", ".join(
            f"{key} = {toml_value(ref, 'credentials.' + key)}"
            for key, ref in store["credentials"].items()
        )
        lines.append(f"credentials = {{ {credentials} }}")
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)
