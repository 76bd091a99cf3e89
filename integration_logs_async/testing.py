"""Pytest plugin with fixtures that run the API emulator.

Installed packages register it through the ``pytest11`` entry point; it can
also be enabled explicitly with ``pytest -p integration_logs_async.testing``.

The fixtures are async and run on the test's event loop, so a project needs
``pytest-asyncio`` and either ``@pytest.mark.asyncio`` on each test (the default
*strict* mode) or ``asyncio_mode = "auto"``.  They follow pytest-asyncio's
``asyncio_default_fixture_loop_scope`` (function when unset); a test that runs on a
wider loop (``@pytest.mark.asyncio(loop_scope="module")``) needs that option set to
the same scope, so that the server and the test share one loop (otherwise
``emulator.sendcloud_client()`` raises ``EmulatorLoopError`` saying so).  The emulator
answers only while that loop runs: drive blocking programs from an async test with
``asyncio.create_subprocess_exec`` or ``asyncio.to_thread``.

``emulator``
    A started :class:`~integration_logs_async.emulator.Emulator` with a small
    store (3 integrations, 120 logs per provider), stopped after the test.
    Tune it per test with the ``emulator`` marker, whose keyword arguments are
    :class:`~integration_logs_async.emulator.EmulatorConfig` fields (an
    ``EmulatorConfig`` may also be given as the first argument)::

        @pytest.mark.asyncio
        @pytest.mark.emulator(logs=500, faults={"server_error": 0.2})
        async def test_retries(emulator):
            async with emulator.sendcloud_client() as client:
                ...

    ``faults`` takes a :class:`~integration_logs_async.emulator.FaultConfig` or the
    dict shapes of :meth:`FaultConfig.coerce`: rates ``{"server_error": 0.2}``, a
    schedule ``{3: "server_error"}``, ``FaultConfig`` fields, or a mix.  A bad option
    fails the test at setup with a message listing what is valid.

``emulator_factory``
    An async callable starting emulators with any config, all stopped after
    the test::

        async def test_two_servers(emulator_factory):
            first = await emulator_factory(seed=1)
            second = await emulator_factory(EmulatorConfig(logs=10))

The plugin imports the emulator (and aiohttp) only when a fixture is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from typing import Unpack

    from .emulator import Emulator, EmulatorConfig, EmulatorOptions

__all__ = [
    "DEFAULT_OPTIONS",
    "EmulatorFactory",
    "emulator",
    "emulator_factory",
    "marker_config",
]

DEFAULT_OPTIONS: dict[str, Any] = {"integrations": 3, "logs": 120}
"""Config of the ``emulator`` fixture before the marker's keyword arguments apply."""

_F = TypeVar("_F", bound=Callable[..., Any])


def _async_fixture(func: _F) -> _F:
    """``pytest_asyncio.fixture`` (works in strict mode too), else a plain fixture."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - without pytest-asyncio nothing can await
        return cast(_F, pytest.fixture(func))
    return cast(_F, pytest_asyncio.fixture(func))


_FIXTURES = frozenset({"emulator", "emulator_factory"})
_NO_ASYNC_PLUGIN = (
    "the emulator fixtures are async: install pytest-asyncio (pip install pytest-asyncio), "
    'then mark the test @pytest.mark.asyncio or set asyncio_mode = "auto"'
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "emulator(config=None, **options): EmulatorConfig fields for the `emulator` fixture",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a test that uses the fixtures when no plugin can run async fixtures."""
    if not _FIXTURES & set(getattr(item, "fixturenames", ())):
        return
    plugins = item.config.pluginmanager
    if not (plugins.has_plugin("asyncio") or plugins.has_plugin("anyio")):
        pytest.fail(_NO_ASYNC_PLUGIN, pytrace=False)


def marker_config(marker: pytest.Mark | None) -> EmulatorConfig:
    """The :class:`EmulatorConfig` of the ``emulator`` fixture for a test's marker.

    The marker's positional :class:`EmulatorConfig` (else :data:`DEFAULT_OPTIONS`) with
    its keyword arguments applied on top; ``faults`` may be any shape of
    :meth:`FaultConfig.coerce`.  Raises ValueError naming the bad option and what is valid.
    """
    from .emulator import EmulatorConfig, FaultConfig

    args: tuple[Any, ...] = marker.args if marker else ()
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if len(args) > 1 or (args and not isinstance(args[0], EmulatorConfig)):
        raise ValueError(
            "@pytest.mark.emulator takes at most one positional EmulatorConfig; "
            "give other options as keywords"
        )
    valid = sorted(f.name for f in fields(EmulatorConfig))
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"@pytest.mark.emulator: unknown option(s) {', '.join(unknown)}; "
            f"valid: {', '.join(valid)}"
        )
    if "faults" in options:
        try:
            options["faults"] = FaultConfig.coerce(options["faults"])
        except ValueError as exc:
            raise ValueError(f"@pytest.mark.emulator(faults=...): {exc}") from None
    base = args[0] if args else EmulatorConfig(**DEFAULT_OPTIONS)
    try:
        return replace(base, **options)
    except ValueError as exc:
        raise ValueError(f"@pytest.mark.emulator: {exc}") from None


class EmulatorFactory:
    """Starts emulators and stops every one of them in :meth:`aclose`."""

    def __init__(self) -> None:
        self._started: list[Emulator] = []

    async def __call__(
        self, config: EmulatorConfig | None = None, /, **options: Unpack[EmulatorOptions]
    ) -> Emulator:
        """Start an emulator built from ``config`` and/or config field keywords."""
        from .emulator import Emulator

        emu = Emulator(config, **options)
        await emu.start()
        self._started.append(emu)
        return emu

    async def aclose(self) -> None:
        """Stop all started emulators, newest first."""
        while self._started:
            await self._started.pop().stop()


@_async_fixture
async def emulator_factory() -> AsyncIterator[EmulatorFactory]:
    """Async callable starting emulators that are stopped after the test."""
    factory = EmulatorFactory()
    try:
        yield factory
    finally:
        await factory.aclose()


@_async_fixture
async def emulator(request: pytest.FixtureRequest, emulator_factory: EmulatorFactory) -> Emulator:
    """A running emulator with a small store; see the ``emulator`` marker."""
    try:
        config = marker_config(request.node.get_closest_marker("emulator"))
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    return await emulator_factory(config)
