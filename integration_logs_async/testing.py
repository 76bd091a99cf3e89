"""Pytest plugin with fixtures that run the API emulator.

Installed packages register it through the ``pytest11`` entry point; it can
also be enabled explicitly with ``pytest -p integration_logs_async.testing``.
The fixtures are async and need pytest-asyncio (any mode).

``emulator``
    A started :class:`~integration_logs_async.emulator.Emulator` with a small
    store (3 integrations, 120 logs per provider), stopped after the test.
    Tune it per test with the ``emulator`` marker, whose keyword arguments are
    :class:`~integration_logs_async.emulator.EmulatorConfig` fields::

        @pytest.mark.emulator(logs=500, faults=FaultConfig(rates={"server_error": 0.2}))
        async def test_retries(emulator):
            client = make_client(**emulator.env())
            ...

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
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from typing import Unpack

    from .emulator import Emulator, EmulatorConfig, EmulatorOptions

__all__ = ["DEFAULT_OPTIONS", "EmulatorFactory", "emulator", "emulator_factory"]

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


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``emulator`` marker."""
    config.addinivalue_line(
        "markers", "emulator(**options): EmulatorConfig fields for the `emulator` fixture"
    )


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
    marker = request.node.get_closest_marker("emulator")
    options = {**DEFAULT_OPTIONS, **(marker.kwargs if marker else {})}
    return await emulator_factory(**cast("EmulatorOptions", options))
