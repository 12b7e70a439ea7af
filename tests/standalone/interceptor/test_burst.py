"""1,000 calls from two workers through two interceptors: none over a limit, all answered."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp

from emulation.discord.ratelimits import RateLimitConfig, RouteLimit
from standalone.interceptor.limiter import LimiterSettings

from .conftest import Connect, Start, World, caller_headers

CALLS = 1_000
ROUTE_LIMIT = RouteLimit(limit=20, window_s=1.0)
GLOBAL_LIMIT = 150
# A second of margin: every interceptor, client and the stand-in share one busy
# event loop here, so a call may reach the stand-in well after it was admitted.
SETTINGS = LimiterSettings(global_limit=GLOBAL_LIMIT, global_window_ms=1_000, margin_ms=1_000)


async def worker(
    session: aiohttp.ClientSession, interceptors: list[str], world: World, name: str, count: int
) -> list[int]:
    """A worker-like client: many calls in flight at once, spread over both interceptors."""
    targets = itertools.cycle(interceptors)
    channels = itertools.cycle(world.channels)

    async def call(index: int) -> int:
        url = f"{next(targets)}/api/v10/channels/{next(channels).id}/messages"
        async with session.post(
            url, json={"content": f"{name}-{index}"}, headers=caller_headers(world.tenant)
        ) as response:
            await response.read()
            return response.status

    return await asyncio.gather(*(call(i) for i in range(count)))


async def test_a_burst_through_two_interceptors_stays_under_every_limit(
    world: World, backend: Connect, start_interceptor: Start
):
    limits = world.fd.ratelimits
    limits.configure(
        RateLimitConfig(default=ROUTE_LIMIT, global_limit=GLOBAL_LIMIT, global_window_s=1.0)
    )
    interceptors = [
        await start_interceptor(await backend(), settings=SETTINGS),
        await start_interceptor(await backend(), settings=SETTINGS),
    ]
    async with aiohttp.ClientSession() as first, aiohttp.ClientSession() as second:
        statuses = await asyncio.gather(
            worker(first, interceptors, world, "a", CALLS // 2),
            worker(second, interceptors[::-1], world, "b", CALLS // 2),
        )

    every = [status for batch in statuses for status in batch]
    assert len(every) == CALLS
    assert set(every) == {200}
    # The stand-in refused nothing: no call went over a bucket's or the global limit.
    assert limits.counters.rejected == 0
    assert limits.counters.max_in_window <= ROUTE_LIMIT.limit
    assert limits.counters.limited_requests == CALLS
    posted = sum(len(world.fd.messages(channel.id)) for channel in world.channels)
    assert posted == CALLS
    assert world.fd.server_errors == []
