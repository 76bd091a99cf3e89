"""Benchmark 1 — decode: µs per record to turn one 100-record page into records.

Pages are real emulator responses (exact wire bytes of Elastic Path ``GET
/v2/integrations/logs``, Sendcloud v2 ``GET /api/v2/integrations/logs`` and Sendcloud v3
``GET /api/v3/integrations/logs``: ``{"data": [...]}``, next page in the ``Link`` header;
pages spread over the store so the mix of outcomes and body sizes is the store's). Each page
is decoded by:

- ``json.loads`` and ``orjson.loads`` (dicts, no types),
- pydantic v2 ``Page.model_validate_json`` with models equivalent to the library's,
- the library's typed decoder (``stream._pager._decode()``: what a stream runs per response,
  bytes -> typed msgspec records plus paging numbers; for v3,
  ``DataPage[SendcloudV3IntegrationLog]`` through ``SendcloudV3Client``'s cursor pager),
- the library's raw decoder (``stream.raw()``: bytes -> ``RawRecord``, what the harvester uses).

Timing: in this process, pinned to the clients' core; rounds interleave the decoders; each
round decodes every page several times, with the garbage collector enabled (as in a real
client). The figure is the best round (least disturbed; the median is in the JSON). Targets:
library typed <= 0.45x json.loads and <= 0.3x pydantic, per provider (Sendcloud v3 too).
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from ._common import (
    CLIENT_CORES,
    BenchmarkError,
    EmulatorProcess,
    Row,
    Section,
    Target,
    missing_baselines,
    pinned,
    ratio,
)
from ._context import Context
from ._pages import elasticpath_pages, sendcloud_pages, sendcloud_v3_pages

NAME = "decode"
TITLE = "Decode one 100-record page (µs per record, best of rounds, GC on)"


def _library_decoders(provider: str) -> tuple[Callable[[bytes], Any], Callable[[bytes], Any]]:
    """The typed and raw page decoders the library's streams use (no network involved)."""
    from integration_logs_async import (
        BasicAuth,
        BearerToken,
        ElasticPathClient,
        SendcloudClient,
        SendcloudV3Client,
    )

    client: Any
    if provider == "elasticpath":
        client = ElasticPathClient(BearerToken("bench"), base_url="http://127.0.0.1:9")
    elif provider == "sendcloud_v3":
        client = SendcloudV3Client(BasicAuth("bench", "bench"), base_url="http://127.0.0.1:9")
    else:
        client = SendcloudClient(BasicAuth("bench", "bench"), base_url="http://127.0.0.1:9")
    stream = client.logs()
    typed = stream._pager._decode()
    raw = stream.raw()._pager._decode()
    return typed, raw


LABELS = {"elasticpath": "elasticpath", "sendcloud": "sendcloud", "sendcloud_v3": "sendcloud v3"}
"""Provider as shown in rows and target names (``sendcloud`` is API v2)."""


def _count(provider: str, name: str, value: Any) -> int:
    items = "results" if provider == "sendcloud" else "data"  # Elastic Path, Sendcloud v3
    if name in ("json.loads", "orjson.loads"):
        return len(value[items])
    if name == "pydantic":
        return len(getattr(value, items))
    return len(value.items)


def _pydantic_page(provider: str) -> Any:
    from . import _pydantic_models as pyd

    return {
        "elasticpath": pyd.ElasticPathLogPage,
        "sendcloud": pyd.SendcloudLogPage,
        "sendcloud_v3": pyd.SendcloudV3LogPage,
    }[provider]


def _measure(
    decoders: dict[str, Callable[[bytes], Any]],
    pages: list[bytes],
    records: int,
    *,
    rounds: int,
    min_seconds: float,
) -> dict[str, list[float]]:
    """µs per record of each decoder, one figure per round."""
    inner: dict[str, int] = {}
    for name, decode in decoders.items():  # calibrate: repeats per round for ~min_seconds
        t0 = time.perf_counter()
        for page in pages:
            decode(page)
        once = max(time.perf_counter() - t0, 1e-6)
        inner[name] = max(1, int(min_seconds / once))
    results: dict[str, list[float]] = {name: [] for name in decoders}
    gc.enable()
    for _ in range(rounds):
        for name, decode in decoders.items():
            n = inner[name]
            t0 = time.perf_counter()
            for _ in range(n):
                for page in pages:
                    decode(page)
            elapsed = time.perf_counter() - t0
            results[name].append(elapsed * 1e6 / (n * records))
    return results


def run(ctx: Context) -> Section:
    section = Section(NAME, TITLE)
    n_pages = 2 if ctx.quick else 8
    rounds = 3 if ctx.quick else 9
    min_seconds = 0.01 if ctx.quick else 0.08
    with EmulatorProcess(logs=2_000 if ctx.quick else 20_000, integrations=20) as emu:
        fetched = {
            "elasticpath": elasticpath_pages(emu, n_pages),
            "sendcloud": sendcloud_pages(emu, n_pages),
            "sendcloud_v3": sendcloud_v3_pages(emu, n_pages),
        }
    for provider, pages in fetched.items():
        if len(pages) != n_pages:
            raise BenchmarkError(f"{provider}: fetched {len(pages)} pages, expected {n_pages}")
    section.raw["rounds"] = rounds
    missing = missing_baselines()
    section.raw["missing_baselines"] = missing
    for provider, pages in fetched.items():
        typed, raw = _library_decoders(provider)
        decoders: dict[str, Callable[[bytes], Any]] = {"json.loads": json.loads}
        if "orjson" not in missing:
            import orjson

            decoders["orjson.loads"] = orjson.loads
        if "pydantic" not in missing:
            decoders["pydantic"] = _pydantic_page(provider).model_validate_json
        decoders["library typed"] = typed
        decoders["library raw"] = raw
        shown = LABELS[provider]
        records = 0
        for page in pages:
            counts = {
                name: _count(provider, name, decode(page)) for name, decode in decoders.items()
            }
            if len(set(counts.values())) != 1:
                raise BenchmarkError(f"{shown}: decoders disagree on record counts: {counts}")
            if counts["json.loads"] != 100:
                raise BenchmarkError(f"{shown}: a page of {counts['json.loads']} records, not 100")
            records += counts["json.loads"]
        sizes = [len(p) for p in pages]
        with pinned(CLIENT_CORES):
            figures = _measure(decoders, pages, records, rounds=rounds, min_seconds=min_seconds)
        med = {name: min(values) for name, values in figures.items()}
        section.raw[provider] = {
            "pages": len(pages),
            "records": records,
            "page_bytes": sizes,
            "bytes_per_record": sum(sizes) / records,
            "us_per_record_rounds": figures,
            "us_per_record_best": med,
            "us_per_record_median": {k: statistics.median(v) for k, v in figures.items()},
        }
        for name, value in med.items():
            section.rows.append(
                Row(
                    NAME,
                    f"{shown}: {name}",
                    {
                        "us/rec": value,
                        "x json": ratio(value, med["json.loads"]),
                        "x orjson": ratio(value, med.get("orjson.loads")),
                        "x pydantic": ratio(value, med.get("pydantic")),
                    },
                    note=f"{records} rec, {sum(sizes) / records:,.0f} B/rec",
                )
            )
        lib = med["library typed"]
        section.targets += [
            Target(NAME, f"{shown} typed / json.loads", ratio(lib, med["json.loads"]), "<=", 0.45),
            Target(
                NAME,
                f"{shown} typed / pydantic",
                ratio(lib, med.get("pydantic")),
                "<=",
                0.3,
                skipped="pydantic" in missing,
            ),
        ]
    return section
