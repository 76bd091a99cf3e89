"""Per-store credentials and clients: references resolved from the environment, a missing
variable named (never a value), and each kind of client listing logs from a real emulator."""

from __future__ import annotations

from typing import Any

import pytest

from integration_logs_async.auth import BasicAuth, ClientCredentials
from integration_logs_async.emulator import Emulator, Provider
from integration_logs_async.errors import AuthenticationError
from integration_logs_async.fleet._credentials import (
    StoreCredentialsError,
    client_for_store,
    store_auth,
)
from integration_logs_async.fleet._stores import StoreConfig, StoresFileError, parse_stores
from integration_logs_async.providers.elasticpath import ElasticPathClient
from integration_logs_async.providers.sendcloud import SendcloudClient, SendcloudV3Client

SECRET = "s3cr3t-value-Qx7"


def basic_store(**extra: Any) -> StoreConfig:
    return StoreConfig(
        name="shop-eu",
        provider="sendcloud",
        credentials={"public_key": "$EU_PK", "secret_key": "${EU_SK}"},
        **extra,
    )


def test_store_auth_resolves_references_and_keeps_literal_public_ids() -> None:
    auth = store_auth(basic_store(), {"EU_PK": "pk-1", "EU_SK": SECRET})
    assert auth == BasicAuth("pk-1", SECRET)
    oauth = StoreConfig(
        name="ep",
        provider="elasticpath",
        credentials={"client_id": "ep-id", "client_secret": "$EP_SECRET", "token_url": "$TOK"},
    )
    env = {"EP_SECRET": SECRET, "TOK": "https://auth.example.com/token"}
    assert store_auth(oauth, env) == ClientCredentials(
        "ep-id", SECRET, token_url="https://auth.example.com/token"
    )
    without = StoreConfig(
        name="ep", provider="elasticpath", credentials={"client_id": "i", "client_secret": "$S"}
    )
    resolved = store_auth(without, {"S": SECRET})
    assert isinstance(resolved, ClientCredentials) and resolved.token_url is None
    assert SECRET not in repr(resolved) and SECRET not in repr(without)


@pytest.mark.parametrize(
    ("env", "key", "var", "state"),
    [
        ({"EU_SK": SECRET}, "credentials.public_key", "$EU_PK", "not set"),
        ({"EU_PK": "pk", "EU_SK": ""}, "credentials.secret_key", "$EU_SK", "empty"),
        ({"EU_PK": "pk"}, "credentials.secret_key", "$EU_SK", "not set"),
    ],
)
def test_a_missing_variable_names_store_key_and_variable(
    env: dict[str, str], key: str, var: str, state: str
) -> None:
    with pytest.raises(StoreCredentialsError) as caught:
        client_for_store(basic_store(), env)
    message = str(caught.value)
    assert message.startswith(f"store 'shop-eu': {key} refers to {var}, which is {state}: ")
    assert "export it" in message
    assert SECRET not in message and "pk" not in message.split(":", 1)[0]
    assert (caught.value.store, caught.value.key) == ("shop-eu", key)
    assert isinstance(caught.value, StoresFileError)


def test_a_client_the_transport_refuses_names_the_store() -> None:
    store = StoreConfig(
        name="ep",
        provider="elasticpath",
        credentials={"client_id": "i", "client_secret": "$S", "token_url": "$TOK"},
    )
    env = {"S": SECRET, "TOK": "http://auth.example.com/token"}  # plain http off this machine
    with pytest.raises(StoresFileError) as caught:
        client_for_store(store, env)
    assert str(caught.value).startswith("store 'ep': ")
    assert "plain http" in str(caught.value) and SECRET not in str(caught.value)


async def test_settings_apply_and_the_stores_rate_limit_wins() -> None:
    env = {"EU_PK": "pk", "EU_SK": SECRET}
    async with client_for_store(
        basic_store(rate_limit=0), env, settings={"rate_limit": 3.0, "max_attempts": 2}
    ) as client:
        assert (client.config.rate_limit, client.config.max_attempts) == (0.0, 2)
        assert SECRET not in repr(client)
    async with client_for_store(basic_store(), env, settings={"rate_limit": 3.0}) as client:
        assert client.config.rate_limit == 3.0
    async with client_for_store(basic_store(), env) as client:
        assert client.config.rate_limit is None  # the provider's documented default
        assert client.base_url == SendcloudClient.default_base_url


def emulator_stores(emu: Emulator) -> str:
    """A stores file for ``emu``: one store per kind of client, references only."""
    return f"""
[defaults]
rate_limit = 0

[[store]]
name = "v2-basic"
provider = "sendcloud"
base_url = "{emu.sendcloud_url}"
credentials = {{ public_key = "$SC_PK", secret_key = "$SC_SK" }}

[[store]]
name = "v3-basic"
provider = "sendcloud"
api_version = 3
base_url = "{emu.sendcloud_v3_url}"
credentials = {{ public_key = "$SC_PK", secret_key = "$SC_SK" }}

[[store]]
name = "v2-oauth"
provider = "sendcloud"
base_url = "{emu.sendcloud_url}"
credentials = {{ client_id = "$SC_ID", client_secret = "$SC_SECRET", token_url = "$SC_TOKEN" }}

[[store]]
name = "ep"
provider = "elasticpath"
base_url = "{emu.elasticpath_url}"
credentials = {{ client_id = "{emu.epcc_client_id}", client_secret = "$EP_SECRET" }}
"""


def emulator_env(emu: Emulator) -> dict[str, str]:
    return {
        "SC_PK": emu.sendcloud_public_key,
        "SC_SK": emu.sendcloud_secret_key,
        "SC_ID": emu.sendcloud_client_id,
        "SC_SECRET": emu.sendcloud_client_secret,
        "SC_TOKEN": emu.sendcloud_token_url,
        "EP_SECRET": emu.epcc_client_secret,
    }


async def test_each_kind_of_client_lists_a_page_from_the_emulator(emulator: Emulator) -> None:
    stores = {s.name: s for s in parse_stores(emulator_stores(emulator), "emu.toml")}
    env = emulator_env(emulator)
    expected = {
        "v2-basic": (SendcloudClient, "basic", emulator.sendcloud_public_key, "/api/v2/"),
        "v3-basic": (SendcloudV3Client, "basic", emulator.sendcloud_public_key, "/api/v3/"),
        "v2-oauth": (SendcloudClient, "bearer", emulator.sendcloud_client_id, "/api/v2/"),
        "ep": (ElasticPathClient, "bearer", emulator.epcc_client_id, "/v2/"),
    }
    for name, (cls, scheme, identity, path) in expected.items():
        emulator.reset_stats()
        async with client_for_store(stores[name], env) as client:
            assert type(client) is cls, name
            logs = await client.logs(page_size=5, max_items=5).collect()
        assert len(logs) == 5, name
        provider: Provider = "sendcloud" if name != "ep" else "elasticpath"
        store_ids = [str(i) for i in emulator.store.logs(provider).ids()]
        assert [str(getattr(log, "id", "")) for log in logs] == store_ids[:5], name
        listed = [r for r in emulator.requests if r.category == "data"]
        assert listed and all(path in r.path for r in listed), (name, listed)
        assert {(r.auth_scheme, r.credential) for r in listed} == {(scheme, identity)}, name
    assert emulator.issued_tokens  # the OAuth2 stores fetched tokens from the emulator


async def test_wrong_credentials_are_refused_by_the_emulator(emulator: Emulator) -> None:
    stores = parse_stores(emulator_stores(emulator), "emu.toml")
    env = emulator_env(emulator) | {"SC_SK": "not-the-key", "EP_SECRET": "not-the-secret"}
    for store in (stores[0], stores[3]):
        async with client_for_store(store, env) as client:
            with pytest.raises(AuthenticationError):
                await client.logs(max_items=1).collect()
