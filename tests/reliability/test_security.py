"""Security: credentials never show, are only sent to the configured origin, never in clear
over the network unless asked, TLS is verified, and response bodies are bounded.

Secrets are scanned for verbatim, base64-encoded (alone and in ``id:secret`` Basic form) and
URL-encoded, in everything a run produces: DEBUG logs (caplog and a file handler), progress
output, transport events, exceptions (message, repr and traceback), the output file and the
state file.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import re
import shutil
import ssl
import subprocess
import traceback
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aioresponses import aioresponses

from integration_logs_async import (
    BasicAuth,
    BearerToken,
    ClientConfig,
    ClientCredentials,
    ElasticPathClient,
    IntegrationLogsError,
    ResponseTooLargeError,
    SendcloudClient,
    TransportError,
    TransportEvent,
    UnsafeURLError,
)
from integration_logs_async.emulator import Emulator, FaultConfig
from integration_logs_async.harvest import HarvestOptions, run_harvest
from integration_logs_async.testing import EmulatorFactory

from .._support.clients import FAST
from ._helpers import assert_exactly_the_store, harvest_until_complete, innermost

SECRETS = {
    "sendcloud_public_key": "pk-Public-Key-1",
    "sendcloud_secret_key": "sk/Secret+Key=A&1",
    "sendcloud_client_id": "sc-client-7",
    "sendcloud_client_secret": "sc-Client/Secret+B%2",
    "epcc_client_id": "ep-client-9",
    "epcc_client_secret": "ep-Client?Secret#C 3",
}


def secret_forms(emu: Emulator) -> dict[str, str]:
    """Every form in which a credential could leak, named for the failure message."""
    pairs = {
        "sendcloud basic": (emu.sendcloud_public_key, emu.sendcloud_secret_key),
        "sendcloud client": (emu.sendcloud_client_id, emu.sendcloud_client_secret),
        "epcc client": (emu.epcc_client_id, emu.epcc_client_secret),
    }
    forms: dict[str, str] = {}
    for name, (ident, secret) in pairs.items():
        forms[f"{name} secret"] = secret
        forms[f"{name} secret, base64"] = base64.b64encode(secret.encode()).decode()
        forms[f"{name} id:secret, base64"] = base64.b64encode(f"{ident}:{secret}".encode()).decode()
        forms[f"{name} secret, url-encoded"] = urllib.parse.quote_plus(secret)
        forms[f"{name} secret, url-encoded (%20)"] = urllib.parse.quote(secret, safe="")
    for n, token in enumerate(emu.issued_tokens):
        forms[f"access token {n}"] = token
        forms[f"access token {n}, base64"] = base64.b64encode(token.encode()).decode()
    return forms


def _read(path: Path) -> bytes:
    return path.read_bytes()


def leaks(text: str | bytes, forms: dict[str, str]) -> list[str]:
    data = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return [name for name, value in forms.items() if value in data]


def exception_texts(exc: BaseException) -> list[str]:
    """Message, repr and full traceback of ``exc`` and of everything chained to it."""
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), "".join(traceback.format_exception(current))]
        todo += [current.__cause__, current.__context__]
        todo += list(getattr(current, "failures", {}).values())
    return texts


# --- credentials never show ----------------------------------------------------------------

SECURITY_FAULTS = FaultConfig(
    seed=9,
    rates={
        "server_error": 0.12,
        "bad_gateway_html": 0.08,
        "rate_limited": 0.08,
        "rate_limited_no_retry_after": 0.05,
        "reset": 0.08,
        "truncated": 0.08,
        "latency": 1.0,
    },
    schedule={n: "service_unavailable" for n in range(20, 34)},  # runs out of attempts
    retry_after_seconds=0,
    latency_seconds=0.003,
)


@pytest.mark.parametrize(
    ("provider", "auth", "scope"),
    [
        ("sendcloud", "basic", "integrations"),
        ("sendcloud", "oauth", "all"),
        ("elasticpath", "oauth", "jobs"),
    ],
)
async def test_credentials_never_appear_in_any_output(
    emulator_factory: EmulatorFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    provider: str,
    auth: str,
    scope: str,
) -> None:
    emu = await emulator_factory(
        seed=3,
        integrations=4,
        logs=1_500,
        token_ttl=0.1,  # several tokens, expiring mid-run: 401s, refreshes, replays
        faults=SECURITY_FAULTS,
        **SECRETS,  # type: ignore[arg-type]
    )
    caplog.set_level(logging.DEBUG)  # every logger, the library's and aiohttp's
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    events: list[TransportEvent] = []
    progress = tmp_path / "progress.txt"
    out = tmp_path / "logs.jsonl"
    settings: dict[str, Any] = {**FAST, "max_attempts": 3, "on_event": events.append}
    client: SendcloudClient | ElasticPathClient
    if provider == "sendcloud":
        credentials: BasicAuth | ClientCredentials = (
            BasicAuth(emu.sendcloud_public_key, emu.sendcloud_secret_key)
            if auth == "basic"
            else ClientCredentials(
                emu.sendcloud_client_id,
                emu.sendcloud_client_secret,
                token_url=emu.sendcloud_token_url,
            )
        )
        client = SendcloudClient(credentials, base_url=emu.sendcloud_url, **settings)
    else:
        credentials = ClientCredentials(emu.epcc_client_id, emu.epcc_client_secret)
        client = ElasticPathClient(credentials, base_url=emu.elasticpath_url, **settings)
    options = HarvestOptions(
        provider=provider,
        out=str(out),
        scope=scope,  # type: ignore[arg-type]
        page_size=25,
    )
    texts: list[str] = [repr(client), str(client), repr(credentials), str(credentials)]
    try:
        async with client:
            with progress.open("w") as stream:
                for _ in range(30):  # typed errors, each followed by a resuming rerun
                    try:
                        await run_harvest(client, options, progress=True, progress_stream=stream)
                        break
                    except IntegrationLogsError as exc:
                        texts += exception_texts(exc)
                else:
                    pytest.fail("the harvest did not complete")
            texts += [repr(client.config), repr(client.stats), repr(client._transport)]
            texts += [repr(client._transport._auth), repr(options)]
            # wrong credentials: refused, and the refusal does not echo them either
            texts += await _refused_credentials(emu, provider)
            logging.getLogger("test").debug("client %r auth %r", client, credentials)
    finally:
        root.removeHandler(handler)
        handler.close()
    forms = secret_forms(emu)
    assert leaks(f"x{emu.epcc_client_secret}x", forms) == ["epcc client secret"]  # the scan works
    assert len(emu.issued_tokens) >= (0 if auth == "basic" else 2)
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert sum(isinstance(t, str) and "Error" in t for t in texts) >= 1, "no typed error seen"
    found = {
        "caplog": leaks(caplog.text, forms),
        "log file": leaks(log_file.read_bytes(), forms),
        "progress": leaks(progress.read_bytes(), forms),
        "events": leaks("\n".join(repr(e) for e in events), forms),
        "exceptions and reprs": leaks("\n".join(texts), forms),
        "output file": leaks(_read(out), forms),
        "state file": leaks(_read(Path(str(out) + ".state.json")), forms),
    }
    assert found == {key: [] for key in found}
    assert len(out.read_bytes().splitlines()) == len(emu.store.logs(provider))  # type: ignore[arg-type]


async def _refused_credentials(emu: Emulator, provider: str) -> list[str]:
    """Errors of clients whose credentials the emulator refuses (wrong secret)."""
    texts: list[str] = []
    wrong = "Wrong-Secret-Zz"
    if provider == "sendcloud":
        clients: list[Any] = [
            SendcloudClient(
                BasicAuth(emu.sendcloud_public_key, wrong), base_url=emu.sendcloud_url, **FAST
            ),
            SendcloudClient(
                ClientCredentials(
                    emu.sendcloud_client_id, wrong, token_url=emu.sendcloud_token_url
                ),
                base_url=emu.sendcloud_url,
                **FAST,
            ),
        ]
    else:
        clients = [
            ElasticPathClient(
                ClientCredentials(emu.epcc_client_id, wrong), base_url=emu.elasticpath_url, **FAST
            )
        ]
    for client in clients:
        async with client:
            with pytest.raises(IntegrationLogsError) as info:
                await client.logs().collect()
        texts += exception_texts(info.value)
        assert wrong not in "".join(exception_texts(info.value))
    return texts


# --- credentials only go to the configured origin ------------------------------------------


@pytest_asyncio.fixture
async def foreign(emulator_factory: EmulatorFactory) -> Emulator:
    """A second emulator standing in for a foreign host; its request log must stay empty."""
    return await emulator_factory(seed=99, logs=10)


@pytest.mark.parametrize("fault", ["foreign_next", "foreign_redirect"])
@pytest.mark.parametrize("provider", ["sendcloud", "elasticpath"])
async def test_nothing_reaches_a_foreign_origin(
    emulator_factory: EmulatorFactory, foreign: Emulator, tmp_path: Path, fault: str, provider: str
) -> None:
    emu = await emulator_factory(seed=5, integrations=2, logs=600)
    # Same host, another port: another origin. A page in the middle of the run is affected.
    emu.set_faults(FaultConfig(schedule={4: fault}, foreign_origin=foreign.url))
    if provider == "sendcloud":
        client: Any = SendcloudClient(
            ClientCredentials(
                emu.sendcloud_client_id,
                emu.sendcloud_client_secret,
                token_url=emu.sendcloud_token_url,
            ),
            base_url=emu.sendcloud_url,
            **FAST,
        )
    else:
        client = ElasticPathClient(
            ClientCredentials(emu.epcc_client_id, emu.epcc_client_secret),
            base_url=emu.elasticpath_url,
            **FAST,
        )
    out = tmp_path / "logs.jsonl"
    options = HarvestOptions(provider=provider, out=str(out), scope="all", page_size=50)
    async with client:
        try:
            await run_harvest(client, options, progress=False)
        except IntegrationLogsError as exc:
            error = innermost(exc)
            assert isinstance(error, UnsafeURLError), repr(error)
            assert foreign.url in str(error) and "configured origin" in str(error)
        else:
            # Elastic Path pages by offset and never follows links: the foreign next link
            # is simply not used.
            assert (provider, fault) == ("elasticpath", "foreign_next")
    assert foreign.requests == []  # nothing at all, so no credentials either
    assert [r.fault for r in emu.requests if r.fault] == [fault]


async def test_redirects_and_links_must_keep_scheme_host_and_port(
    emulator_factory: EmulatorFactory, foreign: Emulator
) -> None:
    emu = await emulator_factory(seed=5, integrations=2, logs=300)
    host, port = "127.0.0.1", emu.port
    for origin in (
        f"http://localhost:{port}",  # same machine, another host name
        f"https://{host}:{port}",  # another scheme
        f"http://{host}:{foreign.port}",  # another port
        f"http://{emu.sendcloud_public_key}:{emu.sendcloud_secret_key}@{host}:{port}",
    ):
        for fault in ("foreign_next", "foreign_redirect"):
            emu.set_faults(FaultConfig(schedule={1: fault}, foreign_origin=origin))
            async with SendcloudClient(
                BasicAuth(emu.sendcloud_public_key, emu.sendcloud_secret_key),
                base_url=emu.sendcloud_url,
                **FAST,
            ) as client:
                before = len(emu.requests)
                with pytest.raises(UnsafeURLError) as info:
                    await client.logs().collect()
                assert len(emu.requests) == before + 1, origin  # the refused URL was not fetched
                assert emu.sendcloud_secret_key not in str(info.value)
    assert foreign.requests == []


# --- plain http, TLS ------------------------------------------------------------------------


@pytest.mark.parametrize("make", ["sendcloud", "elasticpath", "token_url"])
def test_credentials_refused_over_plain_http_to_other_hosts(make: str) -> None:
    def build(url: str, **settings: Any) -> Any:
        if make == "sendcloud":
            return SendcloudClient(BasicAuth("pub", "secret"), base_url=url, **settings)
        if make == "elasticpath":
            return ElasticPathClient(ClientCredentials("c", "s"), base_url=url, **settings)
        return SendcloudClient(ClientCredentials("c", "s", token_url=url + "/t"), **settings)

    for url in ("http://api.example.com", "http://10.0.0.8:8080", "http://127.0.0.1.example.com"):
        with pytest.raises(ValueError, match="allow_insecure_http=True") as info:
            build(url)
        assert "plain http" in str(info.value)
        build(url, allow_insecure_http=True)  # an explicit opt-in
    for url in ("http://127.0.0.1:8080", "http://localhost", "http://[::1]:9"):
        build(url)  # loopback: nothing leaves the machine
    assert ClientConfig().allow_insecure_http is False


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[tuple[str, list[web.Request]]]]]:
    """Starts small aiohttp servers on 127.0.0.1; returns (origin, requests seen)."""
    runners: list[web.AppRunner] = []

    async def start(
        handler: Handler, *, tls: ssl.SSLContext | None = None
    ) -> tuple[str, list[web.Request]]:
        seen: list[web.Request] = []

        async def record(request: web.Request) -> web.StreamResponse:
            seen.append(request)
            return await handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}", seen

    yield start
    for runner in runners:
        await runner.cleanup()


async def _empty_page(request: web.Request) -> web.Response:
    return web.json_response({"next": None, "results": []})


async def test_tls_certificates_are_verified_by_default(
    tls_files: tuple[Path, Path], serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")  # the server logs the failed handshake
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    origin, seen = await serve(_empty_page, tls=context)
    assert ClientConfig().verify_ssl is True
    auth = BasicAuth("pub", "tls-secret")
    async with SendcloudClient(auth, base_url=origin + "/api/v2", **FAST) as client:
        with pytest.raises(TransportError, match=r"certificate|SSL") as info:
            await client.logs().collect()
    assert seen == []  # the handshake failed: no request, no credentials, went out
    assert "tls-secret" not in str(info.value)
    async with SendcloudClient(
        auth, base_url=origin + "/api/v2", verify_ssl=False, **FAST
    ) as client:
        assert await client.logs().collect() == []  # an explicit opt-out
    assert len(seen) == 1


# --- response size limit -----------------------------------------------------------------


async def test_max_response_bytes_is_enforced(serve: Any) -> None:
    big = json.dumps({"next": None, "results": [], "pad": "x" * 300_000}).encode()
    small = json.dumps({"next": None, "results": []}).encode()
    packed = gzip.compress(big)
    assert len(packed) < 2_000

    async def handler(request: web.Request) -> web.StreamResponse:
        how = request.match_info["tail"].split("/")[-2]
        if how == "length":  # announced: refused before reading
            return web.Response(body=big, content_type="application/json")
        if how == "gzip":  # 1-2 KB on the wire, 300 KB once inflated
            return web.Response(
                body=packed, content_type="application/json", headers={"Content-Encoding": "gzip"}
            )
        if how == "chunked":  # no Content-Length at all
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(big), 8192):
                await response.write(big[start : start + 8192])
            await response.write_eof()
            return response
        return web.Response(body=small, content_type="application/json")

    origin, seen = await serve(handler)
    async with SendcloudClient(
        BasicAuth("pub", "secret"), base_url=origin + "/api/v2", max_response_bytes=100_000, **FAST
    ) as client:
        for how in ("length", "gzip", "chunked"):
            with pytest.raises(ResponseTooLargeError, match="max_response_bytes=100000"):
                await client.integration_logs(how).collect()
        assert await client.integration_logs("fine").collect() == []
        assert client.stats.bytes_received < 100_000 + 10_000  # the big bodies were not kept
    assert len(seen) == 4  # refused at once, not retried


async def test_max_response_bytes_in_a_harvest(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emu = await emulator_factory(seed=2, integrations=2, logs=400)
    out = tmp_path / "logs.jsonl"
    options = HarvestOptions(provider="elasticpath", out=str(out), scope="all")
    credentials = ClientCredentials(emu.epcc_client_id, emu.epcc_client_secret)
    async with ElasticPathClient(
        credentials, base_url=emu.elasticpath_url, max_response_bytes=20_000, **FAST
    ) as client:
        with pytest.raises(IntegrationLogsError) as info:
            await run_harvest(client, options, progress=False)
    assert isinstance(innermost(info.value), ResponseTooLargeError)
    assert "Lower page_size or raise max_response_bytes" in str(info.value)
    # as the message says, smaller pages fit: the same harvest resumes and completes
    async with ElasticPathClient(
        credentials, base_url=emu.elasticpath_url, max_response_bytes=20_000, **FAST
    ) as client:
        smaller = HarvestOptions(provider="elasticpath", out=str(out), scope="all", page_size=4)
        await harvest_until_complete(client, smaller)
    assert assert_exactly_the_store(out, emu, "elasticpath") == 400


async def test_no_bearer_token_is_sent_elsewhere_after_a_refused_redirect(serve: Any) -> None:
    """A redirect to another origin is refused before anything is sent there."""
    target, elsewhere = await serve(_empty_page)

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": target + request.path_qs})

    origin, here = await serve(redirect)
    async with ElasticPathClient(BearerToken("tok-Secret-4"), base_url=origin, **FAST) as client:
        with pytest.raises(UnsafeURLError, match="redirect to"):
            await client.logs().collect()
    assert len(here) == 1 and elsewhere == []
    await asyncio.sleep(0)


@pytest.mark.parametrize("kind", ["client secret", "basic password", "bearer token"])
async def test_credentials_echoed_in_any_encoding_are_redacted(kind: str) -> None:
    """A provider echoing the request back (form-encoded, URL-encoded, JSON-escaped)."""
    secret = 'ep-Client?Secret#C 3/"x"\\é'
    forms = {
        secret,
        urllib.parse.quote_plus(secret),
        urllib.parse.quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    echo = " | ".join(f"got {form!s}" for form in sorted(forms))
    base = "https://useast.api.elasticpath.com"
    with aioresponses() as mock:
        mock.post(base + "/oauth/access_token", status=400, body=echo)
        mock.get(re.compile(re.escape(base) + r"/v2/.*"), status=422, body=echo)
        credentials: Any = {
            "client secret": ClientCredentials("cid", secret),
            "basic password": BasicAuth("pub", secret),
            "bearer token": BearerToken(secret),
        }[kind]
        if kind == "basic password":
            client: Any = SendcloudClient(credentials, base_url=base + "/v2", **FAST)
        else:
            client = ElasticPathClient(credentials, **FAST)
        async with client:
            with pytest.raises(IntegrationLogsError) as info:
                await client.logs().collect()
    texts = "\n".join(exception_texts(info.value))
    assert "got [REDACTED]" in texts
    assert [form for form in forms if form in texts] == []
