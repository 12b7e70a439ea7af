"""The gateway service against the stand-in: forwarding, RESUME, leases, fatal errors."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import pytest

from emulation.discord import FakeDiscord
from emulation.memory import MemoryCoordination
from emulation.ports import PersistenceError
from standalone import keys
from standalone.services.gateway import GatewayService
from standalone.services.shard import GatewayFatal
from standalone.wire import decode_envelope


@pytest.fixture
async def discord():
    async with FakeDiscord() as fake:
        yield fake


def world(discord):
    app = discord.add_application()
    guild = discord.add_guild()
    member = discord.add_member(guild.id, username="alex")
    channel = discord.add_channel(guild.id, name="general")
    discord.install(app.id, guild.id)
    return app, guild, member, channel


def service(discord, app, coord, instance="gw-1"):
    return GatewayService(
        tenant="t1",
        token=app.token,
        api_base=discord.api_base,
        coordination=coord,
        instance=instance,
    )


async def stream_types(coord):
    await coord.streams.create_group(keys.events("t1"), "inspect")
    entries = await coord.streams.read_group(keys.events("t1"), "inspect", "me", count=1000)
    return [decode_envelope(e.data) for e in entries]


@contextlib.asynccontextmanager
async def running(gateway):
    started = asyncio.Event()
    task = asyncio.create_task(gateway.run(started))
    try:
        async with asyncio.timeout(30):
            await started.wait()
        yield task
    finally:
        await gateway.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_forwards_only_needed_events_with_envelopes(discord):
    app, guild, member, channel = world(discord)
    coord = MemoryCoordination()
    async with running(service(discord, app, coord)):
        await discord.actor(app.id, guild.id, member.id).send_message(channel.id, "hi")
        async with asyncio.timeout(30):
            while await coord.streams.length(keys.events("t1")) < 2:
                await asyncio.sleep(0.01)
    envelopes = await stream_types(coord)
    assert [e.type for e in envelopes] == ["GUILD_CREATE", "MESSAGE_CREATE"]
    assert all(e.tenant == "t1" and e.shard == 0 for e in envelopes)
    assert envelopes[0].seq < envelopes[1].seq
    assert msgspec.json.decode(envelopes[1].data)["content"] == "hi"


async def test_reconnect_resumes_and_replays_missed_events(discord):
    app, guild, member, channel = world(discord)
    coord = MemoryCoordination()
    async with running(service(discord, app, coord)):
        discord.gateway.hold_connections()
        await discord.reconnect(app.id)
        await discord.actor(app.id, guild.id, member.id).send_message(channel.id, "missed")
        discord.gateway.release_connections()
        async with asyncio.timeout(30):
            while await coord.streams.length(keys.events("t1")) < 2:
                await asyncio.sleep(0.01)
        sessions = discord.gateway.sessions_of(app.id)
        assert len(sessions) == 1 and sessions[0].resumes == 1  # resumed, not identified again
    contents = [msgspec.json.decode(e.data).get("content") for e in await stream_types(coord)]
    assert contents[-1] == "missed"


async def test_a_shard_runs_only_where_its_lease_is_held(discord):
    app, *_ = world(discord)
    coord = MemoryCoordination()
    first = service(discord, app, coord, instance="gw-1")
    async with running(first):
        holder = await coord.leases.holder(keys.shard_lease("t1", 0))
        assert holder is not None and holder.owner == "gw-1"
        second = service(discord, app, coord, instance="gw-2")
        await asyncio.wait_for(second.run(), 30)  # nothing to run: returns at once
        assert second.shards == []
        assert len(discord.gateway.sessions_of(app.id)) == 1
    assert await coord.leases.holder(keys.shard_lease("t1", 0)) is None  # released on stop


async def test_a_rejected_token_is_fatal(discord):
    world(discord)
    gateway = GatewayService(
        tenant="t1",
        token="bad.token",
        api_base=discord.api_base,
        coordination=MemoryCoordination(),
        instance="gw",
    )
    with pytest.raises(GatewayFatal, match="rejected the bot token"):
        await asyncio.wait_for(gateway.run(), 30)


async def test_a_zombie_connection_is_dropped_and_resumed(discord):
    app, guild, member, channel = world(discord)
    discord.gateway.heartbeat_interval_ms = 100
    coord = MemoryCoordination()
    async with running(service(discord, app, coord)):
        discord.gateway.ack_heartbeats = False
        session = discord.gateway.sessions_of(app.id)[0]
        async with asyncio.timeout(30):
            while session.resumes == 0:  # the bot noticed, closed, and resumed
                discord.gateway.ack_heartbeats = session.conn is None
                await asyncio.sleep(0.01)
        discord.gateway.ack_heartbeats = True
        await discord.actor(app.id, guild.id, member.id).send_message(channel.id, "after")
        async with asyncio.timeout(30):
            while await coord.streams.length(keys.events("t1")) < 2:
                await asyncio.sleep(0.01)
        # Resumed, never identified again (a clean stop then ends the session).
        assert len(discord.gateway.sessions_of(app.id)) == 1
    assert discord.gateway.identifies[app.id] == 1


async def test_an_event_the_stream_refused_is_replayed_after_resuming(discord):
    app, guild, member, channel = world(discord)
    coord = MemoryCoordination()
    real_append = coord.streams.append
    refused: list[bytes] = []

    async def append_refusing_once(stream, data, **kw):
        if not refused and b"MESSAGE_CREATE" in data:
            refused.append(data)
            raise PersistenceError("the append-only file could not be written")
        return await real_append(stream, data, **kw)

    coord.streams.append = append_refusing_once  # type: ignore[method-assign]
    async with running(service(discord, app, coord)):
        await discord.actor(app.id, guild.id, member.id).send_message(channel.id, "kept")
        async with asyncio.timeout(10):
            while await coord.streams.length(keys.events("t1")) < 2:
                await asyncio.sleep(0.01)
        sessions = discord.gateway.sessions_of(app.id)
        assert len(sessions) == 1 and sessions[0].resumes == 1  # resumed, not identified again
    assert refused, "the first hand-off of the message was refused"
    envelopes = await stream_types(coord)
    assert [e.type for e in envelopes] == ["GUILD_CREATE", "MESSAGE_CREATE"]
    assert msgspec.json.decode(envelopes[1].data)["content"] == "kept"
