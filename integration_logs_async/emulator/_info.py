"""URLs, credentials and environment variables a client needs to reach an emulator."""

from __future__ import annotations

from typing import Any

from ._config import EmulatorConfig


def environment(base_url: str, config: EmulatorConfig) -> dict[str, str]:
    """The variables a CLI user would export to point the client at the emulator.

    ``SENDCLOUD_TOKEN_URL`` points OAuth2 client credentials at the emulator too;
    ``SENDCLOUD_API_V3_BASE_URL`` is the base URL of Sendcloud API v3 (same data as v2,
    whose base stays ``SENDCLOUD_API_BASE_URL``).
    """
    return {
        "SENDCLOUD_PUBLIC_KEY": config.sendcloud_public_key,
        "SENDCLOUD_SECRET_KEY": config.sendcloud_secret_key,
        "SENDCLOUD_CLIENT_ID": config.sendcloud_client_id,
        "SENDCLOUD_CLIENT_SECRET": config.sendcloud_client_secret,
        "SENDCLOUD_API_BASE_URL": base_url + config.sendcloud_prefix,
        "SENDCLOUD_API_V3_BASE_URL": base_url + config.sendcloud_v3_prefix,
        "SENDCLOUD_TOKEN_URL": base_url + "/oauth2/token",
        "EPCC_CLIENT_ID": config.epcc_client_id,
        "EPCC_CLIENT_SECRET": config.epcc_client_secret,
        "EPCC_API_BASE_URL": base_url,
    }


def connection_info(base_url: str, config: EmulatorConfig) -> dict[str, Any]:
    """Everything about a running emulator, as printed by ``emulate --json``."""
    return {
        "url": base_url,
        "sendcloud_url": base_url + config.sendcloud_prefix,
        "sendcloud_v3_url": base_url + config.sendcloud_v3_prefix,
        "sendcloud_token_url": base_url + "/oauth2/token",
        "elasticpath_url": base_url,
        "elasticpath_token_url": base_url + "/oauth/access_token",
        "admin_url": base_url + "/_emulator",
        "credentials": {
            "sendcloud_public_key": config.sendcloud_public_key,
            "sendcloud_secret_key": config.sendcloud_secret_key,
            "sendcloud_client_id": config.sendcloud_client_id,
            "sendcloud_client_secret": config.sendcloud_client_secret,
            "epcc_client_id": config.epcc_client_id,
            "epcc_client_secret": config.epcc_client_secret,
        },
        "env": environment(base_url, config),
    }
