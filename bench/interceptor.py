"""A burst through interceptors: how fast calls pass under a stand-in's enforced limits.

Two worker-like clients send CALLS message posts, spread over 10 channels, through
two interceptors on loopback; the stand-in enforces ROUTE per channel per second
and GLOBAL per second. Prints the time, the rate and what the stand-in refused,
for the unix-socket coordination and, when ``VALKEY_URL`` is set, for Redis.
The ceiling is ``min(10 * ROUTE, GLOBAL) / (1 s + margin)`` calls a second.

Usage: PYTHONPATH=. python bench/interceptor.py [CALLS] [ROUTE] [GLOBAL] [MARGIN_MS]
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

from emulation.connect import connect_coordination
from emulation.discord import FakeDiscord
from emulation.discord.ratelimits import RateLimitConfig, RouteLimit
from emulation.memory import MemoryCoordination
from emulation.ports import Coordination
from emulation.unix import CoordinationServer, UnixCoordination
from standalone.interceptor.limiter import Limiter, LimiterSettings
from standalone.interceptor.service import SECRET_HEADER, TENANT_HEADER, Interceptor

SECRET = "bench"  # noqa: S105 (a throwaway shared secret)
# Fresh per run: Redis keeps what an earlier run learnt.
TENANT = f"bench-{uuid.uuid4().hex[:8]}"


class Tokens:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, tenant: str) -> str | None:
        return self._token if tenant == TENANT else None


async def burst(
    connect: list[Coordination], calls: int, route: int, glob: int, margin: int
) -> None:
    async with FakeDiscord() as fd:
        app = fd.add_application("Bench")
        guild = fd.add_guild("Guild")
        fd.install(app.id, guild.id)
        channels = [fd.add_channel(guild.id, f"c{i}") for i in range(10)]
        fd.ratelimits.configure(
            RateLimitConfig(default=RouteLimit(limit=route, window_s=1.0), global_limit=glob)
        )
        settings = LimiterSettings(global_limit=glob, margin_ms=margin)
        runners, urls = [], []
        for coordination in connect:
            interceptor = Interceptor(
                api_base=fd.api_base,
                secret=SECRET,
                tokens=Tokens(app.token),
                limiter=Limiter(coordination.cache, coordination.counters, settings),
            )
            runner = web.AppRunner(interceptor.application(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            runners.append(runner)
            urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
        headers = {SECRET_HEADER: SECRET, TENANT_HEADER: TENANT}

        async def worker(order: list[str], count: int) -> list[int]:
            targets, chans = itertools.cycle(order), itertools.cycle(channels)
            async with aiohttp.ClientSession() as session:

                async def one(i: int) -> int:
                    url = f"{next(targets)}/api/v10/channels/{next(chans).id}/messages"
                    async with session.post(url, json={"content": str(i)}, headers=headers) as r:
                        await r.read()
                        return r.status

                return await asyncio.gather(*(one(i) for i in range(count)))

        started = time.perf_counter()
        results = await asyncio.gather(worker(urls, calls // 2), worker(urls[::-1], calls // 2))
        took = time.perf_counter() - started
        ok = sum(status == 200 for batch in results for status in batch)
        counters = fd.ratelimits.counters
        print(
            f"  {calls} calls in {took:.1f} s ({calls / took:.0f}/s); {ok} answered 200; "
            f"429s sent: {counters.rejected}; most in one window: {counters.max_in_window}"
        )
        for runner in runners:
            await runner.cleanup()


async def main(calls: int, route: int, glob: int, margin: int) -> None:
    print(f"ceiling {min(10 * route, glob) / (1 + margin / 1000):.0f}/s")
    with tempfile.TemporaryDirectory() as tmp:
        server = CoordinationServer(MemoryCoordination(), Path(tmp) / "c.sock")
        await server.start()
        clients: list[Coordination] = [UnixCoordination(Path(tmp) / "c.sock") for _ in range(2)]
        print("unix-socket coordination:")
        await burst(clients, calls, route, glob, margin)
        for client in clients:
            await client.close()
        await server.close()
    if url := os.environ.get("VALKEY_URL"):
        clients = [await connect_coordination(url) for _ in range(2)]
        print("Redis coordination:")
        await burst(clients, calls, route, glob, margin)
        for client in clients:
            await client.close()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:5]]
    defaults = [1000, 20, 150, 1000]
    asyncio.run(main(*(args + defaults[len(args) :])))
