"""The provider registry and specs: a provider is one folder, and nothing else names it.

The last tests define a provider from a spec and a client class alone (Sendcloud's wire
format under another name) and run the ``integrations`` and ``harvest`` commands on it: the
harvest and the CLI need no code of their own for a new provider.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import ClassVar

import msgspec
import pytest

from integration_logs_async import ElasticPathClient, ProviderError, SendcloudClient, providers
from integration_logs_async._http import check_base_url
from integration_logs_async.harvest import HarvestOptions, default_scope
from integration_logs_async.providers import CredentialVars, ProviderSpec
from integration_logs_async.providers.elasticpath._errors import parse_errors as ep_errors
from integration_logs_async.providers.sendcloud._errors import parse_errors as sc_errors
from integration_logs_async.records import RawRecord

from .._support.cli import run_main
from .._support.emulators import ThreadedEmulator


def test_the_registry_names_each_provider_once() -> None:
    assert providers.names() == ["sendcloud", "elasticpath"]
    assert providers.client_class("sendcloud") is SendcloudClient
    assert providers.client_class("elasticpath") is ElasticPathClient
    assert [s.name for s in providers.specs()] == providers.names()
    with pytest.raises(ValueError, match="provider must be 'sendcloud' or 'elasticpath', not 'x'"):
        providers.spec("x")


@pytest.mark.parametrize("spec", providers.specs(), ids=lambda s: s.name)
def test_each_spec_is_complete_and_valid(spec: ProviderSpec) -> None:
    check_base_url(spec.base_url, allow_insecure_http=False)
    endpoint = spec.token.endpoint(spec.base_url, None)
    check_base_url(endpoint.url.rsplit("/", 1)[0], allow_insecure_http=False, what="token_url")
    assert spec.token.endpoint(spec.base_url, "https://t.test/token").url == "https://t.test/token"
    assert spec.max_page_size >= 2 and 0 < spec.rate_limit < spec.documented_rate_limit
    assert {"integrations", "all"} <= set(spec.harvest_scopes) and default_scope(
        spec.name
    ) == spec.harvest_scopes[0]
    assert spec.credentials and spec.title and spec.base_url_var.isupper()


def test_environment_variables_are_not_shared_between_providers() -> None:
    names = [
        var
        for spec in providers.specs()
        for var in (
            spec.base_url_var,
            *(v for c in spec.credentials for v in (c.id_var, c.secret_var, c.token_url_var) if v),
        )
    ]
    assert len(names) == len(set(names))


SENDCLOUD_SHAPED = b'{"error": {"code": 404, "message": "Not found.", "request": "x"}}'
JSON_API = b'{"errors": [{"status": "422", "title": "Bad", "source": {"pointer": "/data"}}]}'
OAUTH = b'{"error": "invalid_client", "error_description": "bad secret"}'


def test_each_error_envelope_reads_its_documented_forms() -> None:
    jsonapi = (ProviderError(status=422, title="Bad", source="/data"),)
    oauth = (ProviderError(code="invalid_client", title="invalid_client", detail="bad secret"),)
    assert sc_errors(SENDCLOUD_SHAPED) == (
        ProviderError(status=404, title="Not found.", code="404"),
    )
    assert ep_errors(JSON_API) == sc_errors(JSON_API) == jsonapi
    assert ep_errors(OAUTH) == sc_errors(OAUTH) == oauth
    # Elastic Path documents no ``error`` object: one is not an error of its own.
    assert ep_errors(SENDCLOUD_SHAPED) == ()
    for parse in (ep_errors, sc_errors):
        assert parse(b"<html>") == parse(b"[1]") == parse(b"") == ()


def test_normalizers_come_from_the_specs() -> None:
    sc = b'{"id": 7, "integration_id": 3, "base_url": "https://shop.test", "method": "POST",'
    sc += b' "response_code": 500, "created_at": "2024-01-01T00:00:00Z", "exception": "boom"}'
    log = providers.spec("sendcloud").normalize(RawRecord(raw=sc, id="7"))
    assert (log.provider, log.id, log.status_code, log.error, log.succeeded) == (
        "sendcloud",
        "7",
        500,
        "boom",
        False,
    )
    ep = msgspec.json.encode(
        {
            "id": "l1",
            "succeeded": True,
            "status_code": 200,
            "attempt": 2,
            "relationships": {"job": {"data": {"id": "j1", "type": "integration-job"}}},
        }
    )
    log = providers.spec("elasticpath").normalize(RawRecord(raw=ep, id="l1"))
    assert (log.provider, log.job_id, log.attempt, log.succeeded) == ("elasticpath", "j1", 2, True)


# --- a new provider is a spec and a client class ------------------------------------------------

TOY = dataclasses.replace(
    SendcloudClient.spec,
    name="toy",
    title="Toy",
    base_url_var="TOY_API_BASE_URL",
    credentials=(CredentialVars("basic", "TOY_KEY", "TOY_SECRET"),),
    harvest_scopes=("all", "integrations"),
)


class ToyClient(SendcloudClient):
    """A provider that speaks Sendcloud's wire format under its own name and defaults."""

    spec: ClassVar[ProviderSpec] = TOY


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(providers._CLIENTS, "toy", ToyClient)


def _toy_env(env: dict[str, str]) -> dict[str, str]:
    return {
        "TOY_KEY": env["SENDCLOUD_PUBLIC_KEY"],
        "TOY_SECRET": env["SENDCLOUD_SECRET_KEY"],
        "TOY_API_BASE_URL": env["SENDCLOUD_API_BASE_URL"],
    }


@pytest.mark.usefixtures("toy")
def test_a_registered_provider_runs_through_the_cli_and_the_harvest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert default_scope("toy") == "all"
    with pytest.raises(ValueError, match="Toy has no jobs: its harvest scopes are all and integ"):
        HarvestOptions(provider="toy", out="x", scope="jobs")
    with ThreadedEmulator(integrations=3, logs=40) as emu:
        env = _toy_env(emu.env())
        code, out, err = run_main(["integrations", "toy", "--format", "json"], env, capsys)
        assert code == 0, err
        assert len(out.splitlines()) == len(emu.store.sendcloud.integrations) == 3

        target = tmp_path / "toy.jsonl"
        argv = ["harvest", "toy", "--out", str(target), "--quiet", "--rate-limit", "0"]
        code, out, err = run_main(argv, env, capsys)
        assert code == 0, err
        ids = [str(json.loads(line)["id"]) for line in target.read_text().splitlines()]
        assert sorted(ids) == sorted(str(i) for i in emu.store.sendcloud_logs.ids())
        state = json.loads(target.with_name("toy.jsonl.state.json").read_text())
        assert state["provider"] == "toy" and state["scope"] == "all"

        code, out, err = run_main(["integrations", "toy"], {}, capsys)
        assert code == 2 and "missing Toy credentials: set TOY_KEY and TOY_SECRET" in err
