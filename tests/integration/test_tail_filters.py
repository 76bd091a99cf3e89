"""``client.tail()`` filters against the emulator, for Sendcloud v2, v3 and Elastic Path:
``failed_only``, ``status`` (a class, a code, ``"none"``) and ``integration_ids``.

Filters run on the client: the logs they drop are still accounted for, so a tail resumed
after them (even without the filter) does not yield them, and they cost no request.
"""

from __future__ import annotations

from typing import Any

import pytest

from integration_logs_async import TailStream
from integration_logs_async.emulator import Emulator

from ._tail import CLIENTS, Follower, integration_ids, listing_requests, make_client, provider_of

pytestmark = pytest.mark.emulator(seed=23, integrations=3, logs=60)

PAGE = 5
FAST_POLL = 0.01

# Logs added, oldest first: (name, fields). Sendcloud logs are all failures to the client.
MIX: list[tuple[str, dict[str, Any]]] = [
    ("503", {"status_code": 503}),
    ("404", {"status_code": 404}),
    ("none", {"status_code": None}),
    ("ok", {"status_code": 200, "failed": False}),
    ("502", {"status_code": 502}),
    ("404b", {"status_code": 404}),
]

FILTERS: dict[str, tuple[dict[str, Any], set[str], set[str]]] = {
    # option -> (tail options, names kept by Elastic Path, names kept by Sendcloud)
    "failed_only": (
        {"failed_only": True},
        {"503", "404", "none", "502", "404b"},
        {"503", "404", "none", "ok", "502", "404b"},
    ),
    "5xx": ({"status": ["5xx"]}, {"503", "502"}, {"503", "502"}),
    "404": ({"status": [404]}, {"404", "404b"}, {"404", "404b"}),
    "none": ({"status": ["none"]}, {"none"}, {"none"}),
    "none-or-503": ({"status": ["none", "503"]}, {"none", "503"}, {"none", "503"}),
    "failed-5xx": (
        {"failed_only": True, "status": ["5xx", "2xx"]},
        {"503", "502"},
        {"503", "ok", "502"},
    ),
}


def add_mix(emu: Emulator, which: str) -> dict[str, str]:
    """Add the logs of :data:`MIX`; name -> id."""
    provider = provider_of(which)
    return {name: str(emu.add_logs(provider, 1, **fields)[0]) for name, fields in MIX}


@pytest.mark.parametrize("which", CLIENTS)
async def test_each_filter_yields_its_logs_once_and_accounts_for_the_rest(
    emulator: Emulator, which: str
) -> None:
    async with make_client(emulator, which) as client:
        tails: dict[str, TailStream[Any]] = {
            name: client.tail(page_size=PAGE, poll_interval=FAST_POLL, **options)
            for name, (options, _, _) in FILTERS.items()
        }
        followers = {name: Follower(tail) for name, tail in tails.items()}
        for follower in followers.values():
            await follower.__aenter__()
        try:
            for follower in followers.values():
                await follower.polled(1)
            ids = add_mix(emulator, which)
            for name, follower in followers.items():
                kept = FILTERS[name][1 if which == "ep" else 2]
                await follower.received(len(kept))
                await follower.polled(follower.tail.stats.polls + 2)  # the poll is accounted
            checkpoints = {name: tail.checkpoint for name, tail in tails.items()}
        finally:
            for follower in followers.values():
                await follower.stop()
        # Resumed WITHOUT the filter: only logs added since, none of the mix again.
        later = [str(i) for i in emulator.add_logs(provider_of(which), 2)]
        for name, checkpoint in checkpoints.items():
            resumed = client.tail(resume_from=checkpoint, page_size=PAGE, poll_interval=FAST_POLL)
            async with Follower(resumed) as again:
                await again.received(2)
                await again.polled(resumed.stats.polls + 2)
            assert again.ids == later, name
    order = [ids[name] for name, _ in MIX]
    for name, follower in followers.items():
        kept = FILTERS[name][1 if which == "ep" else 2]
        expected = [ids[n] for n, _ in MIX if n in kept]
        assert follower.ids == expected, name
        assert [i for i in order if i in set(follower.ids)] == follower.ids
        stats = follower.tail.stats
        assert stats.new == len(MIX) and stats.yielded == len(expected), name


@pytest.mark.parametrize("which", CLIENTS)
async def test_integration_ids_keeps_those_integrations_logs(
    emulator: Emulator, which: str
) -> None:
    provider = provider_of(which)
    first, second, third = integration_ids(emulator, which)[:3]

    def key(value: str) -> Any:
        return value if which == "ep" else int(value)

    async with make_client(emulator, which) as client:
        tail = client.tail(
            integration_ids=[key(first), third], page_size=PAGE, poll_interval=FAST_POLL
        )
        async with Follower(tail) as follower:
            await follower.polled(1)
            expected = [str(i) for i in emulator.add_logs(provider, 2, key(first))]
            emulator.add_logs(provider, 3, key(second))
            expected += [str(i) for i in emulator.add_logs(provider, 2, key(third))]
            emulator.add_logs(provider, 1, key(second))
            expected += [str(i) for i in emulator.add_logs(provider, 1, key(first))]
            await follower.received(len(expected))
            await follower.polled(tail.stats.polls + 2)
            requests = listing_requests(emulator, tail)
        checkpoint = tail.checkpoint
        assert follower.ids == expected
        assert tail.stats.new == 9 and tail.stats.yielded == 5
        assert requests == tail.stats.pages  # the filter costs no request
        # The other integration's logs were accounted for: an unfiltered resume skips them.
        later = [str(i) for i in emulator.add_logs(provider, 1, key(second))]
        resumed = client.tail(resume_from=checkpoint, page_size=PAGE, poll_interval=FAST_POLL)
        async with Follower(resumed) as again:
            await again.received(1)
            await again.polled(resumed.stats.polls + 2)
    assert again.ids == later


@pytest.mark.parametrize("which", CLIENTS)
async def test_a_bad_status_is_refused_before_any_request(emulator: Emulator, which: str) -> None:
    async with make_client(emulator, which) as client:
        with pytest.raises(ValueError, match="not an HTTP status"):
            client.tail(status=["6xx"])
        with pytest.raises(ValueError, match="not an HTTP status"):
            client.tail(status=[99])
        with pytest.raises(ValueError, match="failed_only"):
            client.tail(failed_only="yes")  # type: ignore[arg-type]
    assert not emulator.requests
