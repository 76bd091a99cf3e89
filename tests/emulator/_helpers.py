"""Helpers of the emulator tests: plain aiohttp requests (no client library), ``emulate`` args."""

from __future__ import annotations

import argparse
import json
from typing import Any

import aiohttp

from integration_logs_async.emulator import Emulator
from integration_logs_async.emulator.cli import add_emulate_arguments

from .._support.http import basic_authorization

__all__ = [
    "basic",
    "ep_headers",
    "ep_token",
    "get",
    "parse_emulate_args",
    "sendcloud_bearer",
    "walk_elasticpath",
    "walk_sendcloud",
]


def parse_emulate_args(*argv: str) -> argparse.Namespace:
    """``argv`` parsed by the ``emulate`` command's own argument parser."""
    parser = argparse.ArgumentParser()
    add_emulate_arguments(parser)
    return parser.parse_args(argv)


def basic(emu: Emulator) -> dict[str, str]:
    """Sendcloud HTTP Basic headers."""
    return {
        "Authorization": basic_authorization(emu.sendcloud_public_key, emu.sendcloud_secret_key)
    }


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """GET and decode the JSON answer (the text when it is not JSON)."""
    async with http.get(url, headers=headers) as response:
        text = await response.text()
    try:
        return response.status, json.loads(text)
    except json.JSONDecodeError:
        return response.status, text


async def ep_token(http: aiohttp.ClientSession, emu: Emulator) -> str:
    """A fresh Elastic Path access token."""
    form = {
        "grant_type": "client_credentials",
        "client_id": emu.epcc_client_id,
        "client_secret": emu.epcc_client_secret,
    }
    async with http.post(emu.elasticpath_token_url, data=form) as response:
        assert response.status == 200
        body = await response.json()
    return str(body.get("data", body)["access_token"])


async def ep_headers(http: aiohttp.ClientSession, emu: Emulator) -> dict[str, str]:
    """Elastic Path Bearer headers with a fresh token."""
    return {"Authorization": "Bearer " + await ep_token(http, emu)}


async def sendcloud_bearer(http: aiohttp.ClientSession, emu: Emulator) -> dict[str, str]:
    """Sendcloud Bearer headers from the OAuth2 client-credentials flow."""
    credentials = basic_authorization(emu.sendcloud_client_id, emu.sendcloud_client_secret)
    headers = {"Authorization": credentials}
    form = {"grant_type": "client_credentials", "scope": "api"}
    async with http.post(emu.sendcloud_token_url, data=form, headers=headers) as response:
        assert response.status == 200
        body = await response.json()
    return {"Authorization": "Bearer " + body["access_token"]}


async def walk_sendcloud(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], *, key: str = "next"
) -> list[dict[str, Any]]:
    """Follow ``next`` (or ``previous``) links from ``url``; all results in order."""
    results: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        status, body = await get(http, next_url, headers)
        assert status == 200, body
        results.extend(body["results"])
        next_url = body[key]
    return results


async def walk_elasticpath(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Follow ``links.next`` from ``url``; all data items in order."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        status, body = await get(http, next_url, headers)
        assert status == 200, body
        items.extend(body["data"])
        next_url = body["links"]["next"]
    return items
