"""The stores file: parsing, ``[defaults]``, every refusal naming file, store and key, JSON
round trips, and no secret in a repr or a message."""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

from integration_logs_async.fleet._stores import (
    StoreConfig,
    StoresFileError,
    load_stores,
    parse_stores,
)

SECRET = "sk_live_hunter2_Zq9"  # a literal secret some test files hold: never shown

GOOD = """
[defaults]
rate_limit = 5
scope = "integrations"

[[store]]
name = "shop-eu"
provider = "sendcloud"
credentials = { public_key = "pk-eu", secret_key = "$SHOP_EU_SK" }

[[store]]
name = "shop-us"
provider = "sendcloud"
api_version = 3
base_url = "https://panel.example.com/api/v3"
rate_limit = 0
page_size = 100
concurrency = 2
integration_ids = [12, "34"]
[store.credentials]
client_id = "$US_ID"
client_secret = "${US_SECRET}"
token_url = "https://auth.example.com/token"

[[store]]
name = "ep.main"
provider = "elasticpath"
scope = "jobs"
credentials = { client_id = "ep-id", client_secret = "$EP_SECRET" }
"""


def store(body: str, *, name: str | None = "shop-eu", provider: str = "sendcloud") -> str:
    """A one-store file: ``body`` lines added to a minimal valid store."""
    lines = ["[[store]]"]
    if name is not None:
        lines.append(f'name = "{name}"')
    lines.append(f'provider = "{provider}"')
    if "credentials" not in body:
        key = "public_key" if provider == "sendcloud" else "client_id"
        secret = "secret_key" if provider == "sendcloud" else "client_secret"
        lines.append(f'credentials = {{ {key} = "id", {secret} = "$SK" }}')
    return "\n".join([*lines, body]) + "\n"


def test_parses_every_key_and_applies_defaults() -> None:
    eu, us, ep = parse_stores(GOOD, "stores.toml")
    assert eu == StoreConfig(
        name="shop-eu",
        provider="sendcloud",
        credentials={"public_key": "pk-eu", "secret_key": "$SHOP_EU_SK"},
        rate_limit=5.0,
        scope="integrations",
    )
    assert eu.credential_kind == "basic"
    assert us.api_version == 3
    assert us.base_url == "https://panel.example.com/api/v3"
    assert us.rate_limit == 0.0  # the store's own value wins over [defaults]
    assert us.scope == "integrations"
    assert (us.page_size, us.concurrency) == (100, 2)
    assert us.integration_ids == ("12", "34")
    assert us.credential_kind == "client_credentials"
    assert us.credentials["token_url"] == "https://auth.example.com/token"
    assert (ep.provider, ep.scope, ep.rate_limit, ep.api_version) == (
        "elasticpath",
        "jobs",
        5.0,
        None,
    )


def test_plain_http_is_taken_for_this_machine_only() -> None:
    (local,) = parse_stores(store('base_url = "http://127.0.0.1:8080/api/v2"'))
    assert local.base_url == "http://127.0.0.1:8080/api/v2"


def test_without_defaults_every_optional_key_is_none() -> None:
    (only,) = parse_stores(store(""))
    assert (only.api_version, only.base_url, only.rate_limit, only.scope) == (None,) * 4
    assert (only.page_size, only.concurrency, only.integration_ids) == (None, None, ())


# (file text, store as named in the message, key path, words the message holds)
ERRORS: list[tuple[str, str, str, str]] = [
    (store("", name=None), "1", "name", "missing"),
    (store("", name="shop eu"), "1", "name", "not a store name"),
    (store("", name="x" * 201), "1", "name", "1 to 200"),
    (store("nme = 1"), "'shop-eu'", "nme", "did you mean name?"),
    (store("page_sise = 10"), "'shop-eu'", "page_sise", "did you mean page_size?"),
    (store("", provider="shopify"), "'shop-eu'", "provider", '"sendcloud" or "elasticpath"'),
    (
        '[[store]]\nname = "a"\ncredentials = { client_id = "i", client_secret = "$S" }\n',
        "'a'",
        "provider",
        "missing",
    ),
    (store("api_version = 4"), "'shop-eu'", "api_version", "write 2 or 3"),
    (store("api_version = true"), "'shop-eu'", "api_version", "write 2 or 3"),
    (
        store("api_version = 2", provider="elasticpath"),
        "'shop-eu'",
        "api_version",
        "one API version",
    ),
    (store('base_url = "ftp://x.example.com"'), "'shop-eu'", "base_url", "http(s)"),
    (store('base_url = "http://api.example.com/api/v2"'), "'shop-eu'", "base_url", "use https"),
    (
        store('base_url = "https://u:pw@api.example.com"'),
        "'shop-eu'",
        "base_url",
        "a user or password",
    ),
    (
        store('base_url = "https://api.example.com/api/v2"\napi_version = 3'),
        "'shop-eu'",
        "base_url",
        "write api_version = 2",
    ),
    (
        store('credentials = { public_key = "id", secret_key = "' + SECRET + '" }'),
        "'shop-eu'",
        "credentials.secret_key",
        'write "$SHOP_EU_SECRET_KEY"',
    ),
    (
        store('credentials = { client_id = "id", client_secret = "' + SECRET + '" }'),
        "'shop-eu'",
        "credentials.client_secret",
        "environment variable",
    ),
    (
        store('credentials = { public_key = "id", secret_key = "$' + SECRET + '-x" }'),
        "'shop-eu'",
        "credentials.secret_key",
        "not valid",
    ),
    (
        store('credentials = { public_key = "id", secret_key = "" }'),
        "'shop-eu'",
        "credentials.secret_key",
        "empty",
    ),
    (
        store('credentials = { public_key = "id", secret_key = 12 }'),
        "'shop-eu'",
        "credentials.secret_key",
        "must be a string",
    ),
    (
        store('credentials = { public_key = "id" }'),
        "'shop-eu'",
        "credentials.secret_key",
        "missing",
    ),
    (
        store('credentials = { client_secret = "$S" }'),
        "'shop-eu'",
        "credentials.client_id",
        "missing",
    ),
    (
        store('credentials = { public_key = "id", secret_key = "$S", client_id = "c" }'),
        "'shop-eu'",
        "credentials",
        "mixes",
    ),
    (
        store('credentials = { public_key = "id", secret_key = "$S", secret = "$T" }'),
        "'shop-eu'",
        "credentials.secret",
        "unknown key",
    ),
    (
        store('credentials = { public_key = "id", secret_key = "$S" }', provider="elasticpath"),
        "'shop-eu'",
        "credentials.public_key",
        "client_id + client_secret",
    ),
    (store("credentials = {}"), "'shop-eu'", "credentials", "empty"),
    (store('credentials = "$ALL"'), "'shop-eu'", "credentials", "must be a table"),
    ('[[store]]\nname = "a"\nprovider = "sendcloud"\n', "'a'", "credentials", "missing"),
    (
        store('credentials = { client_id = "i", client_secret = "$S", token_url = "token" }'),
        "'shop-eu'",
        "credentials.token_url",
        "http(s)",
    ),
    (
        store(
            'credentials = { client_id = "i", client_secret = "$S", '
            'token_url = "http://auth.example.com/t" }'
        ),
        "'shop-eu'",
        "credentials.token_url",
        "use https",
    ),
    (
        store(
            'credentials = { client_id = "i", client_secret = "$S", '
            f'token_url = "https://i:{SECRET}@auth.example.com/t" }}'
        ),
        "'shop-eu'",
        "credentials.token_url",
        "user or password",
    ),
    (store("rate_limit = -1"), "'shop-eu'", "rate_limit", ">= 0"),
    (store("rate_limit = nan"), "'shop-eu'", "rate_limit", ">= 0"),
    (store('rate_limit = "5"'), "'shop-eu'", "rate_limit", ">= 0"),
    (store('scope = "jobs"'), "'shop-eu'", "scope", '"integrations" or "all"'),
    (
        store('scope = "all"\nintegration_ids = ["1"]'),
        "'shop-eu'",
        "integration_ids",
        'scope = "integrations"',
    ),
    (store('integration_ids = "1"'), "'shop-eu'", "integration_ids", "must be a list"),
    (store('integration_ids = ["1", "1"]'), "'shop-eu'", "integration_ids", "twice"),
    (store('integration_ids = ["a/b"]'), "'shop-eu'", "integration_ids", "not a valid id"),
    (store("integration_ids = [1.5]"), "'shop-eu'", "integration_ids", "not an id"),
    (store("page_size = 501"), "'shop-eu'", "page_size", "from 1 to 500"),
    (store("page_size = 101\napi_version = 3"), "'shop-eu'", "page_size", "from 1 to 100"),
    (store("page_size = 0", provider="elasticpath"), "'shop-eu'", "page_size", "from 1 to 100"),
    (store("concurrency = 0"), "'shop-eu'", "concurrency", ">= 1"),
    (store("concurrency = 2.5"), "'shop-eu'", "concurrency", ">= 1"),
]


@pytest.mark.parametrize(
    ("text", "label", "key", "words"), ERRORS, ids=[f"{c[2]}-{i}" for i, c in enumerate(ERRORS)]
)
def test_a_bad_store_names_file_store_and_key(text: str, label: str, key: str, words: str) -> None:
    with pytest.raises(StoresFileError) as caught:
        parse_stores(text, "fleet.toml")
    message = str(caught.value)
    assert message.startswith(f"fleet.toml: store {label}: {key}: "), message
    assert words in message
    assert "; " in message  # what is wrong; what to write instead
    assert "\n" not in message
    assert SECRET not in message
    assert caught.value.source == "fleet.toml"
    assert caught.value.key == key


def test_a_store_without_a_valid_name_is_named_by_position() -> None:
    text = store("") + store("", name="bad name")
    with pytest.raises(StoresFileError, match=r"^s\.toml: store 2: name: 'bad name' is not"):
        parse_stores(text, "s.toml")


def test_duplicate_names_are_refused_naming_the_first() -> None:
    text = store("") + store("")
    with pytest.raises(StoresFileError) as caught:
        parse_stores(text, "s.toml")
    assert str(caught.value).startswith(
        "s.toml: store 'shop-eu': name: already the name of store 1;"
    )


def test_a_key_from_defaults_says_so() -> None:
    text = "[defaults]\napi_version = 3\n" + store("", provider="elasticpath")
    with pytest.raises(StoresFileError) as caught:
        parse_stores(text, "s.toml")
    assert "s.toml: store 'shop-eu': api_version (from [defaults]): " in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[defaults]\nname = 'x'\n" + store(""), "[defaults]: name: each store names itself"),
        ("[defaults]\nrate = 1\n" + store(""), "[defaults]: rate: unknown key"),
        ("defaults = 1\n" + store(""), "defaults: must be a table"),
        ("stores = []\n" + store(""), "stores: unknown top-level key"),
        ("[store]\nname = 'a'\n", "store: must be an array of tables; write [[store]]"),
        ("[defaults]\nrate_limit = 1\n", "no stores"),
        ("", "no stores"),
        ("store = [1]\n", "store 1: must be a table"),
    ],
)
def test_file_level_errors(text: str, words: str) -> None:
    with pytest.raises(StoresFileError) as caught:
        parse_stores(text, "s.toml")
    assert str(caught.value).startswith("s.toml: ")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[[store]]\nname = "a"\nprovider = sendcloud\n', "line 3, column 12"),
        ('[[store]]\nname = "a"\nname = "b"\n', "line 3, column"),
        ('[[store]]\nname = "a\n', "line 2, column"),
        ("[[store]]\ncredentials = { secret_key = " + SECRET, "line 2, column"),
    ],
)
def test_toml_syntax_errors_name_line_and_column(text: str, where: str) -> None:
    with pytest.raises(StoresFileError) as caught:
        parse_stores(text, "s.toml")
    message = str(caught.value)
    assert message.startswith(f"s.toml: {where}"), message
    assert "not valid TOML" in message
    assert SECRET not in message


def test_load_stores_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "stores.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_stores(path) == parse_stores(GOOD)
    path.write_text(store("page_size = 0"), encoding="utf-8")
    with pytest.raises(
        StoresFileError, match="^" + re.escape(f"{path}: store 'shop-eu': page_size: ")
    ):
        load_stores(str(path))


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_load_stores_refuses_what_it_cannot_read(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "stores.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe[[store]]")
    with pytest.raises(StoresFileError) as caught:
        load_stores(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert {"missing": "no such file", "directory": "cannot read", "binary": "UTF-8"}[kind] in (
        message
    )


def test_to_json_round_trips_every_store() -> None:
    for config in parse_stores(GOOD):
        data = config.to_json()
        assert set(data) == {f.name for f in dataclasses.fields(StoreConfig)}
        assert StoreConfig.from_json(data) == config
        assert StoreConfig.from_json(pickle.loads(pickle.dumps(data))) == config


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"credentials": {"public_key": "pk", "secret_key": SECRET}}, "credentials.secret_key"),
        ({"page_size": 9999}, "page_size"),
        ({"colour": "red"}, "colour"),
        ({"provider": "shopify"}, "provider"),
        ({"name": ""}, "name"),
    ],
)
def test_from_json_checks_like_the_file(change: dict[str, Any], key: str) -> None:
    data = parse_stores(GOOD)[0].to_json() | change
    with pytest.raises(StoresFileError) as caught:
        StoreConfig.from_json(data, source="job 42")
    assert str(caught.value).startswith("job 42: store")
    assert f": {key}: " in str(caught.value)
    assert SECRET not in str(caught.value)


def test_from_json_refuses_what_is_not_an_object() -> None:
    with pytest.raises(StoresFileError, match=r"^job: a store must be a JSON object"):
        StoreConfig.from_json(["shop"])  # type: ignore[arg-type]


def test_constructing_a_store_checks_it_too() -> None:
    with pytest.raises(StoresFileError, match=r"credentials\.secret_key: a secret written"):
        StoreConfig(
            name="a", provider="sendcloud", credentials={"public_key": "p", "secret_key": SECRET}
        )
    good = StoreConfig(
        name="a", provider="sendcloud", credentials={"public_key": "p", "secret_key": "$S"}
    )
    with pytest.raises(StoresFileError, match="page_size"):
        dataclasses.replace(good, page_size=0)


def test_repr_and_messages_hold_references_only() -> None:
    for config in parse_stores(GOOD):
        shown = repr(config)
        assert shown.startswith(f"StoreConfig(name={config.name!r}")
        for value in config.credentials.values():
            assert value in shown
    (eu, _, _) = parse_stores(GOOD)
    assert "'secret_key': '$SHOP_EU_SK'" in repr(eu)
    assert "scope='integrations'" in repr(eu) and "page_size" not in repr(eu)


def test_a_store_is_hashable_immutable_and_picklable() -> None:
    eu = parse_stores(GOOD)[0]
    assert {eu: 1}[parse_stores(GOOD)[0]] == 1
    assert pickle.loads(pickle.dumps(eu)) == eu  # task queues may pickle what they are given
    with pytest.raises(dataclasses.FrozenInstanceError):
        eu.name = "other"  # type: ignore[misc]
