"""Discord's hidden rename limit: its 429 goes back to the caller and blocks nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from emulation.memory import MemoryCoordination

from .conftest import Start, World, caller_headers


@pytest.fixture
async def memory() -> AsyncIterator[MemoryCoordination]:
    coordination = MemoryCoordination()
    yield coordination
    await coordination.close()


async def patch(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: object
) -> tuple[int, dict[str, object]]:
    async with session.patch(url, json=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def test_a_rename_refused_for_minutes_is_answered_not_waited_out(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
):
    channel = world.channels[0].id
    renames = world.fd.renames
    renames.admit(channel)
    renames.admit(channel)  # someone renamed it twice: Discord wants ten minutes now
    base = await start_interceptor(memory)
    url = f"{base}/api/v10/channels/{channel}"
    headers = caller_headers(world.tenant)
    status, body = await patch(session, url, headers, {"name": "third"})
    assert status == 429
    assert float(body["retry_after"]) > 500  # type: ignore[arg-type]
    assert renames.refused == 1  # handed back at once, not retried
    # The route's bucket is not blocked: other edits of the channel go through.
    status, body = await patch(session, url, headers, {"rate_limit_per_user": 10})
    assert status == 200, body
    assert world.fd.channel(channel).rate_limit_per_user == 10
