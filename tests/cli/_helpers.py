"""Helpers of the command-line suite (shared ones are in ``tests._support``)."""

from __future__ import annotations

from integration_logs_async.emulator import Emulator

__all__ = ["basic_only"]


def basic_only(emu: Emulator) -> dict[str, str]:
    """The emulator's environment with only the HTTP Basic pair of Sendcloud credentials."""
    env = emu.env()
    del env["SENDCLOUD_CLIENT_ID"], env["SENDCLOUD_CLIENT_SECRET"]
    return env
