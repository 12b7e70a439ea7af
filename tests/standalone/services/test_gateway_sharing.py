"""Gateway instances sharing a bot's shards: takeover, fencing, identify limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from emulation.discord import FakeDiscord
from emulation.memory import MemoryCoordination
from standalone import keys
from standalone.config import GatewayConfig
from standalone.services.gateway import GatewayService
from standalone.services.shard import ShardLost
from standalone.services.shard_sessions import ShardSessions
from standalone.wire import ShardSession
from tests.e2e.conftest import eventually

# Long enough that a busy machine never lets a lease lapse between renewals: the
# tests hand shards over by stopping and releasing, not by expiry.
SETTINGS = GatewayConfig(lease_ttl_ms=5_000, acquire_interval_ms=50)


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


def bot(discord: FakeDiscord, shards: int = 1):
    app = discord.add_application(shard_count=shards)
    guild = discord.add_guild()
    discord.install(app.id, guild.id)
    return app


def service(discord, app, coord, instance: str) -> GatewayService:
    return GatewayService(
        tenant="t1",
        token=app.token,
        api_base=discord.api_base,
        coordination=coord,
        instance=instance,
        settings=SETTINGS,
    )


@contextlib.asynccontextmanager
async def running(gateway: GatewayService) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(gateway.run())
    try:
        yield task
    finally:
        await gateway.stop()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 30)


def connected(discord: FakeDiscord, app) -> set[int]:
    return {s.shard_id for s in discord.gateway.sessions_of(app.id) if s.conn is not None}


async def test_a_stopped_instance_s_shard_is_resumed_by_the_other(discord):
    app = bot(discord)
    coord = MemoryCoordination()
    first = service(discord, app, coord, "gw-1")
    second = service(discord, app, coord, "gw-2")
    async with running(first):

        async def first_runs() -> bool:
            saved = await first.sessions.load(0)
            return connected(discord, app) == {0} and saved is not None and bool(saved.session_id)

        await eventually(first_runs)
        async with running(second):
            assert second.held == {}
            await first.stop()

            async def second_runs() -> bool:
                return discord.gateway.resumes[app.id] == 1 and connected(discord, app) == {0}

            await eventually(second_runs)
            assert 0 in second.held and not first.held
            assert discord.gateway.identifies[app.id] == 1
            holder = await coord.leases.holder(keys.shard_lease("t1", 0))
            assert holder is not None and holder.owner == "gw-2" and holder.token == 2


async def test_a_lost_lease_stops_the_shard_and_it_is_taken_back_by_resuming(discord):
    app = bot(discord)
    coord = MemoryCoordination()
    gateway = service(discord, app, coord, "gw-1")
    lease = keys.shard_lease("t1", 0)
    async with running(gateway):

        async def runs() -> bool:
            saved = await gateway.sessions.load(0)
            return connected(discord, app) == {0} and saved is not None and bool(saved.session_id)

        await eventually(runs)
        # Someone else holds the lease now (as after a pause longer than the TTL).
        await coord.leases.release(lease, "gw-1")
        assert await coord.leases.acquire(lease, "intruder", ttl_ms=60_000) is not None

        async def stopped() -> bool:
            return connected(discord, app) == set() and not gateway.held

        await eventually(stopped)
        await coord.leases.release(lease, "intruder")

        async def resumed() -> bool:
            return discord.gateway.resumes[app.id] == 1 and connected(discord, app) == {0}

        await eventually(resumed)
        assert discord.gateway.identifies[app.id] == 1


async def test_a_writer_with_an_older_token_is_fenced_off():
    sessions = ShardSessions(MemoryCoordination().cache, "t1")
    await sessions.save(0, ShardSession(token=2, session_id="new", seq=5))
    with pytest.raises(ShardLost):
        await sessions.save(0, ShardSession(token=1, session_id="old", seq=9))
    saved = await sessions.load(0)
    assert saved is not None and (saved.session_id, saved.seq, saved.token) == ("new", 5, 2)
    await sessions.save(0, ShardSession(token=2, session_id="new", seq=6))
    assert (await sessions.load(0)) == ShardSession(token=2, session_id="new", seq=6)


async def test_unreadable_saved_session_means_identify_afresh():
    coord = MemoryCoordination()
    await coord.cache.set(keys.shard_session("t1", 0), b"\xffnot msgpack")
    assert await ShardSessions(coord.cache, "t1").load(0) is None


async def test_instances_together_keep_max_concurrency_buckets(discord):
    app = bot(discord, shards=4)
    discord.configure_gateway(app.id, max_concurrency=2)
    coord = MemoryCoordination()
    first = service(discord, app, coord, "gw-1")
    second = service(discord, app, coord, "gw-2")
    async with running(first), running(second):

        async def all_up() -> bool:
            return connected(discord, app) == {0, 1, 2, 3}

        await eventually(all_up)
    assert discord.gateway.identifies[app.id] == 4
    assert discord.gateway.identify_refusals[app.id] == 0


async def test_instances_together_keep_the_session_start_budget(discord, caplog):
    app = bot(discord, shards=2)
    discord.configure_gateway(app.id, remaining=1, max_concurrency=2)
    coord = MemoryCoordination()
    caplog.set_level(logging.ERROR, logger="standalone.services.identify")
    async with (
        running(service(discord, app, coord, "gw-1")),
        running(service(discord, app, coord, "gw-2")),
    ):

        async def waiting() -> bool:
            return len(connected(discord, app)) == 1 and "session start limit" in caplog.text

        await eventually(waiting)
        assert discord.gateway.identifies[app.id] == 1
    # Going past the budget would have made Discord reset the bot's token.
    assert discord.gateway.token_resets[app.id] == 0


async def test_the_new_lease_holder_writes_over_a_token_from_before_a_restart():
    # A backend restarted without persistence starts lease tokens at 1 again.
    sessions = ShardSessions(MemoryCoordination().cache, "t1")
    await sessions.save(0, ShardSession(token=7, session_id="old", seq=3))
    await sessions.take_over(0, ShardSession(token=1, session_id="old", seq=3))
    await sessions.save(0, ShardSession(token=1, session_id="old", seq=4))
    assert await sessions.load(0) == ShardSession(token=1, session_id="old", seq=4)
