"""The public surface: what each public module exports, documented, and nothing of the machinery.

A change of the top-level ``__all__`` must be deliberate: update ``TOP_LEVEL`` here with it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import pytest

PACKAGE = "integration_logs_async"

PUBLIC_MODULES = (
    PACKAGE,
    f"{PACKAGE}.auth",
    f"{PACKAGE}.config",
    f"{PACKAGE}.demo",
    f"{PACKAGE}.elasticpath",
    f"{PACKAGE}.emulator",
    f"{PACKAGE}.emulator.cli",
    f"{PACKAGE}.errors",
    f"{PACKAGE}.events",
    f"{PACKAGE}.fanout",
    f"{PACKAGE}.fleet",
    f"{PACKAGE}.harvest",
    f"{PACKAGE}.models",
    f"{PACKAGE}.models.elasticpath",
    f"{PACKAGE}.models.sendcloud",
    f"{PACKAGE}.providers",
    f"{PACKAGE}.providers.elasticpath",
    f"{PACKAGE}.providers.sendcloud",
    f"{PACKAGE}.providers.sendcloud.v3",
    f"{PACKAGE}.records",
    f"{PACKAGE}.sendcloud",
    f"{PACKAGE}.sinks",
    f"{PACKAGE}.stream",
    f"{PACKAGE}.tail",
    f"{PACKAGE}.testing",
)

TOP_LEVEL = (
    "APIError",
    "AsyncStream",
    "AuthenticationError",
    "AwareDecoder",
    "BadRequestError",
    "BasicAuth",
    "BearerToken",
    "ClientConfig",
    "ClientCredentials",
    "ClientSettings",
    "DecodeError",
    "ElasticPathClient",
    "ElasticPathIntegration",
    "ElasticPathIntegrationLog",
    "ElasticPathJob",
    "FanOutError",
    "FanOutOptions",
    "FanOutStream",
    "IntegrationLogsError",
    "LogFilter",
    "LogRequest",
    "LogResponse",
    "NotFoundError",
    "OffsetCeilingError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "RawRecord",
    "ResponseTooLargeError",
    "SendcloudClient",
    "SendcloudIntegration",
    "SendcloudIntegrationLog",
    "SendcloudV3Client",
    "SendcloudV3Integration",
    "SendcloudV3IntegrationLog",
    "ServerError",
    "Source",
    "SourcedPage",
    "TailBatch",
    "TailGapError",
    "TailOptions",
    "TailStats",
    "TailStream",
    "TransportError",
    "TransportEvent",
    "TransportStats",
    "UnsafeURLError",
    "__version__",
)
"""``integration_logs_async.__all__``, checked in so that changing the surface is deliberate."""

MACHINERY = ("RecordCodec", "parse_error_body", "PageSource", "StreamFactory", "SourceList")
"""Internal machinery: no public module exports these names."""

MACHINERY_METHODS = ("set_prefetch",)
"""Internal machinery: no exported class has these public attributes."""


def surface(module: ModuleType) -> list[str]:
    """The names ``from module import *`` gives (modules left out when there is no __all__)."""
    declared = vars(module).get("__all__")
    if declared is not None:
        return list(declared)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    ]


def documented(name: str, value: object) -> bool:
    """Whether a class or function carries a docstring of its own (a dataclass's or named
    tuple's generated ``Name(field, ...)`` does not count)."""
    if inspect.isclass(value):
        doc = vars(value).get("__doc__")
        return isinstance(doc, str) and bool(doc.strip()) and not doc.startswith(f"{name}(")
    return bool((getattr(value, "__doc__", None) or "").strip())


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_module_declares_all(name: str) -> None:
    module = importlib.import_module(name)
    declared = vars(module).get("__all__")
    assert isinstance(declared, list | tuple), f"{name} has no __all__"
    assert all(isinstance(item, str) for item in declared), f"{name}.__all__ holds non-strings"
    duplicates = sorted({item for item in declared if declared.count(item) > 1})
    assert not duplicates, f"{name}.__all__ lists {duplicates} twice"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_exported_names_resolve_and_are_documented(name: str) -> None:
    module = importlib.import_module(name)
    names = surface(module)
    missing = [item for item in names if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names what the module does not have: {missing}"
    private = [item for item in names if item.startswith("_") and item != "__version__"]
    assert not private, f"{name} exports private names: {private}"
    undocumented = [
        item
        for item in names
        if (inspect.isclass(value := getattr(module, item)) or inspect.isroutine(value))
        # without __all__, only what the module defines itself is its own surface
        and ("__all__" in vars(module) or getattr(value, "__module__", None) == name)
        and not documented(item, value)
    ]
    assert not undocumented, (
        f"{name} exports classes or functions without docstrings: {undocumented}"
    )


def test_top_level_surface_is_deliberate() -> None:
    import integration_logs_async

    declared = set(integration_logs_async.__all__)
    added, removed = sorted(declared - set(TOP_LEVEL)), sorted(set(TOP_LEVEL) - declared)
    assert not (added or removed), (
        f"integration_logs_async.__all__ changed: added {added}, removed {removed}. If this is "
        f"deliberate, update TOP_LEVEL in {__name__} (and the CHANGELOG)."
    )
    assert len(integration_logs_async.__all__) == len(declared), "duplicates in __all__"


def exposed_machinery() -> dict[str, list[str]]:
    """Machinery name -> where a public module exposes it."""
    found: dict[str, list[str]] = {}
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for item in surface(module):
            if item in MACHINERY:
                found.setdefault(item, []).append(name)
            value = getattr(module, item, None)
            if inspect.isclass(value):
                for attribute in MACHINERY_METHODS:
                    if hasattr(value, attribute):
                        found.setdefault(attribute, []).append(f"{name}.{item}")
    return found


def test_machinery_is_not_exported() -> None:
    exposed = exposed_machinery()
    assert not exposed, f"public modules expose internal machinery (name: where): {exposed}"


def test_every_module_says_what_it_is() -> None:
    """Each module of the package opens with a docstring (its first line says what it is)."""
    source = Path(__file__).resolve().parents[2] / PACKAGE
    silent = [
        str(path.relative_to(source.parent))
        for path in sorted(source.rglob("*.py"))
        if not (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()
    ]
    assert not silent, f"modules without a docstring: {silent}"
