"""Workers' disnake clients: limited in-process on the shared backend, or via the interceptor."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import disnake
import pytest

from emulation.discord.ratelimits import RateLimitConfig, RouteLimit
from standalone.discord_bridge import make_bot, point_at
from standalone.interceptor.client import CallerHeaders
from standalone.interceptor.limiter import Limiter, LimiterSettings
from standalone.interceptor.middleware import RateLimitMiddleware

from .conftest import FAST_RETRY, SECRET, Connect, Start, World

SETTINGS = LimiterSettings(global_limit=30, global_window_ms=1_000, margin_ms=1_000)


@pytest.fixture
def api_base() -> Iterator[None]:
    before = disnake.http.Route.BASE
    yield
    disnake.http.Route.BASE = before


async def test_two_workers_in_the_aio_mode_share_the_limits(
    world: World, backend: Connect, api_base: None
):
    limits = world.fd.ratelimits
    limits.configure(RateLimitConfig(default=RouteLimit(limit=5, window_s=1.0), global_limit=30))
    point_at(world.fd.api_base)
    bots = []
    for _ in range(2):
        coordination = await backend()
        limiter = Limiter(coordination.cache, coordination.counters, SETTINGS)
        bot = make_bot(world.app.id, [RateLimitMiddleware(limiter, world.tenant, FAST_RETRY)])
        await bot.login(world.app.token)
        bots.append(bot)
    channels = world.channels[:2]
    try:
        await asyncio.gather(
            *(
                bot.http.send_message(channels[i % 2].id, content=f"{n}-{i}")
                for n, bot in enumerate(bots)
                for i in range(20)
            )
        )
    finally:
        for bot in bots:
            await bot.close()
    assert sum(len(world.fd.messages(c.id)) for c in channels) == 40
    assert limits.counters.rejected == 0
    assert limits.counters.max_in_window <= 5


async def test_a_worker_calls_discord_through_the_interceptor(
    world: World, backend: Connect, start_interceptor: Start, api_base: None
):
    url = await start_interceptor(await backend())
    point_at(f"{url}/api/v10")
    # The worker's own token is not what reaches Discord: the interceptor's is used.
    bot = make_bot(world.app.id, [CallerHeaders(SECRET, world.tenant)])
    try:
        await bot.login("the worker need not know the token")
        await bot.http.send_message(world.channels[0].id, content="via the interceptor")
    finally:
        await bot.close()
    assert [m.content for m in world.fd.messages(world.channels[0].id)] == ["via the interceptor"]


async def test_a_worker_with_a_wrong_secret_cannot_log_in(
    world: World, backend: Connect, start_interceptor: Start, api_base: None
):
    url = await start_interceptor(await backend())
    point_at(f"{url}/api/v10")
    bot = make_bot(world.app.id, [CallerHeaders("wrong", world.tenant)])
    try:
        with pytest.raises(disnake.LoginFailure):
            await bot.login(world.app.token)
    finally:
        await bot.close()
    assert world.fd.requests == []
