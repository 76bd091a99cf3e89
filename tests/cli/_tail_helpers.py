"""Helpers of the ``integration-logs tail`` tests: runs against the emulator, logs added now."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from integration_logs_async.emulator import Emulator, Provider

from .._support.cli import run_main
from ._helpers import basic_only

__all__ = ["PROVIDERS", "add_now", "cmd", "ids", "integrations", "now", "provider_of", "run"]

PROVIDERS = ["sendcloud", "sendcloud-v3", "elasticpath"]


def cmd(flavour: str) -> list[str]:
    """``tail PROVIDER`` (and ``--api-version 3`` for Sendcloud v3)."""
    if flavour == "sendcloud-v3":
        return ["tail", "sendcloud", "--api-version", "3"]
    return ["tail", flavour]


def provider_of(flavour: str) -> str:
    return "sendcloud" if flavour.startswith("sendcloud") else "elasticpath"


def integrations(emu: Emulator, provider: str) -> list[str]:
    if provider == "sendcloud":
        return [str(json.loads(i.json)["id"]) for i in emu.store.sendcloud.integrations]
    return [str(i.obj["id"]) for i in emu.store.elasticpath.integrations]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def add_now(
    emu: Emulator, provider: str, count: int, owner: str | None = None, **fields: Any
) -> list[str]:
    """Logs created now (the store's own are from 2024): found by ``--since 1h``."""
    fields.setdefault("created_at", now())
    which: Provider = "sendcloud" if provider == "sendcloud" else "elasticpath"
    return [str(i) for i in emu.add_logs(which, count, owner, **fields)]


def ids(out: str) -> list[str]:
    return [json.loads(line)["id"] for line in out.splitlines()]


def run(
    emu: Emulator, argv: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    return run_main([*argv, "--interval", "0.05", "--rate-limit", "0"], basic_only(emu), capsys)
