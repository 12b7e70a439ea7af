"""The interceptor refuses strangers and bad calls, honours 429s, and retries 5xx, bounded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from emulation.discord.ratelimits import RateLimitConfig, RouteLimit
from emulation.memory import MemoryCoordination
from standalone.crypto import Cipher
from standalone.db import open_database
from standalone.db.tenants import TenantRepository
from standalone.interceptor.limiter import LimiterSettings
from standalone.interceptor.tokens import DatabaseTokens

from .conftest import Start, World, caller_headers


@pytest.fixture
async def memory() -> AsyncIterator[MemoryCoordination]:
    coordination = MemoryCoordination()
    yield coordination
    await coordination.close()


async def call(
    session: aiohttp.ClientSession, base: str, path: str, headers: dict[str, str], **kw: object
) -> tuple[int, object]:
    async with session.get(base + path, headers=headers, **kw) as response:  # type: ignore[arg-type]
        body = await response.json(content_type=None) if await response.read() else None
        return response.status, body


async def test_a_caller_without_the_secret_is_refused_before_anything_is_sent(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
):
    base = await start_interceptor(memory)
    path = f"/api/v10/channels/{world.channels[0].id}"
    for headers in (
        caller_headers(world.tenant, secret="wrong"),
        caller_headers(world.tenant, secret=""),
        {"X-Tickets-Tenant": world.tenant},
    ):
        status, body = await call(session, base, path, headers)
        assert status == 401
        assert body == {"message": "401: Unauthorized", "code": 0}
    assert world.fd.requests == []


async def test_an_unknown_or_missing_tenant_is_refused(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
):
    base = await start_interceptor(memory)
    path = f"/api/v10/channels/{world.channels[0].id}"
    status, body = await call(session, base, path, caller_headers("nobody"))
    assert status == 403
    assert "nobody" in body["message"]  # type: ignore[index]
    status, _ = await call(session, base, path, caller_headers(""))
    assert status == 400
    assert world.fd.requests == []


@pytest.mark.parametrize(
    "path",
    [
        "/channels/1",
        "/api/v10/",
        "/api/v10/channels/../users/@me",
        "/api/v10//users/@me",
        "/apiv10/users/@me",
        "/api/v10/channels/1%2F..%2F2",
    ],
)
async def test_a_path_that_is_not_a_discord_api_path_is_refused(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
    path: str,
):
    base = await start_interceptor(memory)
    url = aiohttp.client.URL(base + path, encoded=True)
    async with session.get(url, headers=caller_headers(world.tenant)) as response:
        assert response.status == 400, path
        assert (await response.json())["message"]
    assert world.fd.requests == []


async def test_an_oversized_body_is_refused(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
):
    base = await start_interceptor(memory, max_body_bytes=1024)
    url = f"{base}/api/v10/channels/{world.channels[0].id}/messages"
    async with session.post(
        url, data=b"x" * 4096, headers=caller_headers(world.tenant)
    ) as response:
        assert response.status == 413
    assert world.fd.requests == []
    # A body within the limit goes through, with the tenant's token added.
    async with session.post(
        url, json={"content": "fits"}, headers=caller_headers(world.tenant)
    ) as response:
        assert response.status == 200
        assert not any(h.lower().startswith("x-ratelimit") for h in response.headers)
    assert [m.content for m in world.fd.messages(world.channels[0].id)] == ["fits"]


async def test_a_429_is_waited_out_for_as_long_as_discord_says(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
):
    limits = world.fd.ratelimits
    limits.configure(RateLimitConfig(default=RouteLimit(limit=1, window_s=0.5)))
    channel = world.channels[0].id
    # Another client of the same bot, unknown to the interceptor, empties the bucket.
    async with session.get(
        f"{world.fd.api_base}/channels/{channel}",
        headers={"Authorization": f"Bot {world.app.token}"},
    ) as response:
        assert response.status == 200
    base = await start_interceptor(memory)
    status, body = await call(
        session, base, f"/api/v10/channels/{channel}", caller_headers(world.tenant)
    )
    assert status == 200
    assert body["id"] == str(channel)  # type: ignore[index]
    # Refused once; retried after retry_after, not at once (that would be refused again).
    assert limits.counters.rejected == 1


async def test_a_global_429_holds_every_route_of_the_bot(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
):
    limits = world.fd.ratelimits
    limits.configure(
        RateLimitConfig(
            default=RouteLimit(limit=100, window_s=1), global_limit=1, global_window_s=0.5
        )
    )
    async with session.get(
        f"{world.fd.api_base}/users/@me", headers={"Authorization": f"Bot {world.app.token}"}
    ) as response:
        assert response.status == 200
    # The interceptor believes in a higher global limit than the stand-in keeps.
    base = await start_interceptor(memory, settings=LimiterSettings(global_limit=50))
    status, _ = await call(
        session, base, f"/api/v10/channels/{world.channels[0].id}", caller_headers(world.tenant)
    )
    assert status == 200
    assert limits.counters.rejected_global == 1
    assert limits.counters.rejected == 1


Flaky = Callable[[int, int], Awaitable[tuple[str, list[str]]]]


@pytest.fixture
async def flaky_discord() -> AsyncIterator[Flaky]:
    """An upstream that fails the first ``failures`` calls with ``status``, then answers."""
    runners: list[web.AppRunner] = []

    async def start(failures: int, status: int) -> tuple[str, list[str]]:
        seen: list[str] = []

        async def handler(request: web.Request) -> web.Response:
            seen.append(request.headers.get("Authorization", ""))
            if len(seen) <= failures:
                return web.json_response({"message": "oops", "code": 0}, status=status)
            return web.json_response({"id": "1"})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}/api/v10", seen

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_server_error_is_retried(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
    flaky_discord: Flaky,
    status: int,
):
    api_base, seen = await flaky_discord(2, status)
    base = await start_interceptor(memory, api_base=api_base)
    result, body = await call(session, base, "/api/v10/users/@me", caller_headers(world.tenant))
    assert (result, body) == (200, {"id": "1"})
    assert seen == [f"Bot {world.app.token}"] * 3


async def test_server_errors_are_retried_a_bounded_number_of_times(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
    flaky_discord: Flaky,
):
    api_base, seen = await flaky_discord(100, 500)
    base = await start_interceptor(memory, api_base=api_base)
    result, body = await call(session, base, "/api/v10/users/@me", caller_headers(world.tenant))
    assert result == 500
    assert body == {"message": "oops", "code": 0}
    assert len(seen) == 4  # the call and three retries (FAST_RETRY)


async def test_a_client_error_is_not_retried(
    world: World,
    start_interceptor: Start,
    memory: MemoryCoordination,
    session: aiohttp.ClientSession,
    flaky_discord: Flaky,
):
    api_base, seen = await flaky_discord(100, 403)
    base = await start_interceptor(memory, api_base=api_base)
    result, _ = await call(session, base, "/api/v10/users/@me", caller_headers(world.tenant))
    assert result == 403
    assert len(seen) == 1


async def test_tokens_come_from_the_tenant_records():
    db = await open_database("mem://")
    try:
        tenants = TenantRepository(db, Cipher(Fernet.generate_key()))
        await tenants.add("support", "tok-support", "123")
        tokens = DatabaseTokens(tenants)
        assert await tokens.token("support") == "tok-support"
        assert await tokens.token("sales") is None
        assert await tokens.token("not a name!") is None
    finally:
        await db.close()


def test_an_interceptor_without_a_secret_cannot_be_made():
    from standalone.interceptor.service import Interceptor

    with pytest.raises(ValueError, match="secret"):
        Interceptor(api_base="http://x", secret="", tokens=None, limiter=None)  # type: ignore[arg-type]


async def test_a_tenant_found_is_remembered_and_a_missing_one_soon_looked_up_again():
    from standalone.interceptor.service import CachedTokens

    class Counting:
        def __init__(self) -> None:
            self.tokens: dict[str, str] = {}
            self.lookups = 0

        async def token(self, tenant: str) -> str | None:
            self.lookups += 1
            return self.tokens.get(tenant)

    source = Counting()
    cached = CachedTokens(source, ttl_s=3600, miss_ttl_s=0)
    assert await cached.token("support") is None
    source.tokens["support"] = "tok"
    assert await cached.token("support") == "tok"  # the miss was not kept
    assert await cached.token("support") == "tok"
    assert source.lookups == 2
