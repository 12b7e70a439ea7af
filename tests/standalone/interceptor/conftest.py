"""Interceptors on loopback in front of a rate-limiting stand-in, on a real coordination backend.

``backend`` is ``unix`` (a server on a Unix socket in this process) or
``valkey`` (the Redis at ``VALKEY_URL``, required under CI). Each interceptor
gets its own client of the backend, as separate processes would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from emulation.connect import connect_coordination
from emulation.discord import App, Channel, FakeDiscord, Guild
from emulation.memory import MemoryCoordination
from emulation.ports import Coordination
from emulation.unix import CoordinationServer, UnixCoordination
from standalone.interceptor.limiter import Limiter, LimiterSettings
from standalone.interceptor.middleware import RetryPolicy
from standalone.interceptor.service import SECRET_HEADER, TENANT_HEADER, Interceptor

VALKEY_URL = os.environ.get("VALKEY_URL", "")
VALKEY_REQUIRED = (
    os.environ.get("CI", "").lower() == "true" or os.environ.get("TICKETS_REQUIRE_VALKEY") == "1"
)
SECRET = "s3cret-shared-by-workers"
FAST_RETRY = RetryPolicy(max_5xx_retries=3, backoff_ms=20, max_backoff_ms=100)


class StaticTokens:
    """Tenant tokens as given (the database-backed source has its own test)."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    async def token(self, tenant: str) -> str | None:
        return self.tokens.get(tenant)


@dataclass
class World:
    fd: FakeDiscord
    app: App
    guild: Guild
    channels: list[Channel]
    tenant: str


@pytest.fixture
async def world() -> AsyncIterator[World]:
    fd = FakeDiscord()
    await fd.start()
    app = fd.add_application("Tickets")
    guild = fd.add_guild("Guild")
    fd.install(app.id, guild.id)
    channels = [fd.add_channel(guild.id, f"c{i}") for i in range(10)]
    try:
        # Unique per test: the Redis is shared with other test runs.
        yield World(fd, app, guild, channels, f"t{uuid.uuid4().hex[:10]}")
    finally:
        await fd.stop()


Connect = Callable[[], Awaitable[Coordination]]


@pytest.fixture(params=["unix", "valkey"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Connect]:
    """Opens clients of one coordination backend; all are closed after the test."""
    async with AsyncExitStack() as stack:
        if request.param == "unix":
            path = tmp_path / "coord.sock"
            server = CoordinationServer(MemoryCoordination(), path)
            await server.start()
            stack.push_async_callback(server.close)

            async def connect() -> Coordination:
                client = UnixCoordination(path)
                stack.push_async_callback(client.close)
                return client
        else:
            if not VALKEY_URL:
                if VALKEY_REQUIRED:
                    pytest.fail("VALKEY_URL is not set, and CI requires the valkey tests to run")
                pytest.skip("VALKEY_URL is not set")

            async def connect() -> Coordination:
                client = await connect_coordination(VALKEY_URL)
                stack.push_async_callback(client.close)
                return client

        yield connect


Start = Callable[..., Awaitable[str]]


@pytest.fixture
async def start_interceptor(world: World) -> AsyncIterator[Start]:
    """Starts an interceptor on loopback for the world's bot; returns its URL."""
    async with AsyncExitStack() as stack:

        async def start(
            coordination: Coordination,
            *,
            settings: LimiterSettings | None = None,
            api_base: str | None = None,
            tokens: dict[str, str] | None = None,
            max_body_bytes: int = 1024 * 1024,
        ) -> str:
            interceptor = Interceptor(
                api_base=api_base or world.fd.api_base,
                secret=SECRET,
                tokens=StaticTokens(tokens or {world.tenant: world.app.token}),
                limiter=Limiter(coordination.cache, coordination.counters, settings),
                retry=FAST_RETRY,
                max_body_bytes=max_body_bytes,
            )
            runner = web.AppRunner(interceptor.application(), access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            return f"http://127.0.0.1:{runner.addresses[0][1]}"

        yield start


def caller_headers(tenant: str, secret: str = SECRET) -> dict[str, str]:
    return {SECRET_HEADER: secret, TENANT_HEADER: tenant}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
