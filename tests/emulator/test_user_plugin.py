"""The pytest plugin in a user's own project: pytester runs a fresh project with default settings.

The repository's own tests run with ``asyncio_mode = "auto"``; users' projects mostly do not,
so each case here writes a temporary project (no ini file unless the case is about one) and
runs pytest on it in a subprocess, as a user's ``pytest`` would.
"""

from __future__ import annotations

import asyncio
import textwrap
import threading

import pytest

from integration_logs_async.emulator import Emulator, EmulatorLoopError

pytest_plugins = ["pytester"]

_CLIENT_TESTS = """
import pytest
from integration_logs_async.emulator import Emulator, EmulatorConfig
from integration_logs_async.testing import EmulatorFactory


@pytest.mark.asyncio
async def test_clients_read_the_emulator(emulator: Emulator) -> None:
    async with emulator.sendcloud_client(rate_limit=0) as client:
        sendcloud = await client.logs().collect()
    async with emulator.elasticpath_client(rate_limit=0) as client:
        elasticpath = await client.logs().collect()
    assert len(sendcloud) == len(elasticpath) == 120


@pytest.mark.asyncio
@pytest.mark.emulator(logs=4, faults={1: "server_error"})
async def test_marker_and_a_scheduled_fault(emulator: Emulator) -> None:
    async with emulator.sendcloud_client(rate_limit=0, backoff_max=0.01) as client:
        logs = await client.logs().collect()
    assert len(logs) == 4
    assert [r.status for r in emulator.requests] == [500, 200]


@pytest.mark.asyncio
async def test_factory(emulator_factory: EmulatorFactory) -> None:
    first = await emulator_factory(logs=3, integrations=1)
    second = await emulator_factory(EmulatorConfig(logs=2, seed=5))
    async with first.elasticpath_client(rate_limit=0) as client:
        assert len(await client.logs().collect()) == 3
    async with second.sendcloud_client(rate_limit=0) as client:
        assert len(await client.logs().collect()) == 2


@pytest.mark.asyncio(loop_scope="module")
async def test_on_a_wider_loop_than_the_fixtures(emulator: Emulator) -> None:
    emulator.sendcloud_client()
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_strict_mode_default_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=_CLIENT_TESTS)
    result = _run(pytester)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*EmulatorLoopError: the emulator at http://127.0.0.1:* serves on an event loop that*"]
    )


def test_auto_mode_with_a_module_loop(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = module
        asyncio_default_test_loop_scope = module
        """
    )
    pytester.makepyfile(
        test_user=textwrap.dedent("""
        import asyncio

        LOOPS = []

        async def test_first(emulator):
            LOOPS.append(asyncio.get_running_loop())
            async with emulator.sendcloud_client(rate_limit=0) as client:
                assert len(await client.logs().collect()) == 120

        async def test_second(emulator):
            LOOPS.append(asyncio.get_running_loop())
            async with emulator.elasticpath_client(rate_limit=0) as client:
                assert len(await client.logs().collect()) == 120
            assert LOOPS[0] is LOOPS[1]
        """)
    )
    _run(pytester).assert_outcomes(passed=2)


def test_bad_fault_kind_lists_the_valid_ones(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.emulator(faults={"server_eror": 0.2})
        async def test_typo(emulator):
            pass
        """
    )
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*server_eror*valid kinds*bad_gateway*server_error*"])


def test_without_an_async_plugin_the_message_says_what_to_install(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_user="""
        async def test_needs_a_loop(emulator):
            pass
        """
    )
    # neither async plugin (anyio comes with httpx in some environments)
    result = _run(pytester, "-p", "no:asyncio", "-p", "no:anyio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*install pytest-asyncio*asyncio_mode*"])


def test_a_client_on_another_loop_is_refused() -> None:
    emu = Emulator(logs=1)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(emu.start())

        async def client_on_this_loop() -> None:
            emu.elasticpath_client()

        with pytest.raises(EmulatorLoopError, match="serves on an event loop that is not running"):
            asyncio.run(client_on_this_loop())
    finally:
        loop.run_until_complete(emu.stop())
        loop.close()


def test_a_client_next_to_a_server_loop_running_in_a_thread_is_fine() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    emu = Emulator(logs=2)
    try:
        asyncio.run_coroutine_threadsafe(emu.start(), loop).result(timeout=30)

        async def read_on_this_loop() -> int:
            async with emu.sendcloud_client(rate_limit=0) as client:
                return len(await client.logs().collect())

        assert asyncio.run(read_on_this_loop()) == 2
    finally:
        asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
