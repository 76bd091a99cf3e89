"""``OffsetCeilingError`` says what to call, and following its advice loses nothing.

The library hint names ``logs_by_job()`` for library users and, for the CLI, the continuation
the harvest itself advises (``--scope jobs --append``, which keeps the output): never a bare
``--scope jobs`` that would be refused over an existing output, or lose it.
"""

from __future__ import annotations

import re

import pytest

from integration_logs_async import BadRequestError, OffsetCeilingError
from integration_logs_async.emulator import Emulator
from integration_logs_async.providers.elasticpath._pages import CEILING_HINT, OFFSET_CEILING

from .._support.clients import elasticpath
from ._helpers import assert_exactly


def _ceiling_error() -> OffsetCeilingError:
    refused = BadRequestError(
        status=400,
        method="GET",
        url="https://example.invalid/v2/integrations/logs?page[offset]=10000",
        excerpt="page[offset] must not exceed 10000",
    )
    return OffsetCeilingError.from_error(refused, ceiling=OFFSET_CEILING, hint=CEILING_HINT)


def test_the_hint_names_the_call_and_the_cli_continuation_that_keeps_the_output() -> None:
    message = str(_ceiling_error())
    assert "ElasticPathClient.logs_by_job()" in message
    assert "skipping the ids already read" in message
    assert "`--scope jobs --append`" in message
    # every CLI mention of --scope jobs carries --append (a bare one would not keep the output)
    assert re.findall(r"--scope jobs(?! --append)", message) == []
    assert "--force" not in message
    # the provider's answer comes first, the advice once, at the end
    assert message.startswith("GET https://example.invalid/v2/integrations/logs?page[offset]=")
    assert "page[offset] must not exceed 10000" in message
    assert message.endswith(CEILING_HINT) and message.count("logs_by_job") == 1


@pytest.mark.emulator(integrations=1, jobs_per_integration=3, logs=10_150, ep_offset_ceiling=10_000)
async def test_following_the_hint_reads_every_record_exactly_once(emulator: Emulator) -> None:
    """logs() stops at the ceiling; logs_by_job(), skipping the ids read, gives the rest."""
    every = [str(i) for i in emulator.store.elasticpath_logs.ids()]
    read: list[str] = []
    async with elasticpath(emulator) as client:
        with pytest.raises(OffsetCeilingError) as caught:
            async for log in client.logs(page_size=100):
                read.append(log.id)
        assert "logs_by_job()" in str(caught.value) and caught.value.ceiling == OFFSET_CEILING
        assert 10_000 <= len(read) < len(every)
        seen = set(read)
        rest = [log.id async for log in client.logs_by_job(concurrency=3) if log.id not in seen]
    assert rest, "the hint's call must bring what the offset listing could not"
    assert_exactly(sorted(read + rest), sorted(every))  # a fan-out interleaves its jobs
