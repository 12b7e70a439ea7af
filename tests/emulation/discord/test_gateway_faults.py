"""Discord's gateway failures, injected by tests: op 7, op 9, close codes, dropped sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import disnake
import pytest

from emulation.discord import App, FakeDiscord, Guild

from .conftest import Setup
from .gateway_client import TIMEOUT, RawGateway, raw_gateway
from .test_gateway import make_bot, running


async def eventually(condition: Any) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.01)


async def resume_events(gw: RawGateway, token: str, session_id: str, seq: int) -> list[Any]:
    """RESUME and collect (event, seq, d) up to and including RESUMED."""
    await gw.resume(token, session_id, seq)
    frames: list[Any] = []
    while True:
        frame = await gw.recv()
        assert frame["op"] == 0, frame
        frames.append((frame["t"], frame["s"], frame["d"]))
        if frame["t"] == "RESUMED":
            return frames


async def last_seq(gw: RawGateway, fd: FakeDiscord, app: App, guild: Guild) -> int:
    """Send a marker event and read up to it: the session's latest sequence number."""
    await fd.dispatch(app.id, "MARKER", {"guild_id": str(guild.id)})
    return int((await gw.until("MARKER"))["s"])


async def test_invalid_session_not_resumable_ends_the_session(fd: FakeDiscord, setup: Setup):
    async with raw_gateway(fd) as gw:
        ready = await gw.identify(setup.app.token)
        seq = await last_seq(gw, fd, setup.app, setup.guild)
        assert fd.invalidate_session(setup.app.id) == 1
        assert await gw.until_op(9) == {"op": 9, "d": False}
        assert fd.gateway.sessions_of(setup.app.id) == []
        # The same socket may start afresh, as a client that got op 9 false does.
        await gw.send(2, {"token": setup.app.token, "intents": 513, "properties": {}})
        again = (await gw.until("READY"))["d"]
        assert again["session_id"] != ready["session_id"]
    async with raw_gateway(fd, compress=False) as gw:
        await gw.resume(setup.app.token, ready["session_id"], seq)
        assert await gw.recv() == {"op": 9, "d": False}
    assert fd.gateway.identifies[setup.app.id] == 2
    assert fd.gateway.resumes[setup.app.id] == 0


async def test_invalid_session_resumable_keeps_what_was_missed(fd: FakeDiscord, setup: Setup):
    async with raw_gateway(fd) as gw:
        ready = await gw.identify(setup.app.token)
        seq = await last_seq(gw, fd, setup.app, setup.guild)
        assert fd.invalidate_session(setup.app.id, resumable=True) == 1
        assert await gw.until_op(9) == {"op": 9, "d": True}
        await gw.ws.close(code=4000)  # what disnake does before resuming
    (session,) = fd.gateway.sessions_of(setup.app.id)
    await eventually(lambda: session.conn is None)
    await fd.dispatch(setup.app.id, "MISSED", {"guild_id": str(setup.guild.id), "n": 1})
    async with raw_gateway(fd) as gw:
        frames = await resume_events(gw, setup.app.token, ready["session_id"], seq)
    assert [(t, s) for t, s, _ in frames] == [("MISSED", seq + 1), ("RESUMED", seq + 2)]
    assert fd.gateway.resumes[setup.app.id] == 1


@pytest.mark.parametrize("code", [1000, 1001])
async def test_a_client_closing_normally_ends_its_session(fd: FakeDiscord, setup: Setup, code: int):
    async with raw_gateway(fd) as gw:
        ready = await gw.identify(setup.app.token)
        seq = await last_seq(gw, fd, setup.app, setup.guild)
        await gw.ws.close(code=code)
    await eventually(lambda: ready["session_id"] not in fd.gateway.sessions)
    async with raw_gateway(fd, compress=False) as gw:
        await gw.resume(setup.app.token, ready["session_id"], seq)
        assert await gw.recv() == {"op": 9, "d": False}


async def test_a_client_closing_with_another_code_may_resume(fd: FakeDiscord, setup: Setup):
    async with raw_gateway(fd) as gw:
        ready = await gw.identify(setup.app.token)
        seq = await last_seq(gw, fd, setup.app, setup.guild)
        await gw.ws.close(code=4000)
    (session,) = fd.gateway.sessions_of(setup.app.id)
    await eventually(lambda: session.conn is None)
    async with raw_gateway(fd) as gw:
        frames = await resume_events(gw, setup.app.token, ready["session_id"], seq)
    assert [t for t, _, _ in frames] == ["RESUMED"]


@pytest.mark.parametrize(
    ("code", "resumable"),
    [(4000, True), (4008, True), (4004, False), (4009, False), (4011, False), (4014, False)],
)
async def test_close_codes_decide_whether_the_session_survives(
    fd: FakeDiscord, setup: Setup, code: int, resumable: bool
):
    async with raw_gateway(fd) as gw:
        ready = await gw.identify(setup.app.token)
        seq = await last_seq(gw, fd, setup.app, setup.guild)
        assert fd.close_gateway(setup.app.id, code, reason="test") == 1
        assert await gw.closed() == code
    async with raw_gateway(fd) as gw:
        if resumable:
            frames = await resume_events(gw, setup.app.token, ready["session_id"], seq)
            assert [t for t, _, _ in frames] == ["RESUMED"]
        else:
            await gw.resume(setup.app.token, ready["session_id"], seq)
            assert await gw.recv() == {"op": 9, "d": False}


async def test_keep_session_overrides_the_code(fd: FakeDiscord, setup: Setup):
    async with raw_gateway(fd) as gw:
        ready = await gw.identify(setup.app.token)
        seq = await last_seq(gw, fd, setup.app, setup.guild)
        fd.close_gateway(setup.app.id, 4009, keep_session=True)
        assert await gw.closed() == 4009
    async with raw_gateway(fd) as gw:
        frames = await resume_events(gw, setup.app.token, ready["session_id"], seq)
    assert [t for t, _, _ in frames] == ["RESUMED"]


async def test_a_shard_beyond_the_count_closes_with_4010(fd: FakeDiscord, setup: Setup):
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": 1, "shard": [2, 2]})
        assert await gw.closed() == 4010
    assert fd.gateway.identifies[setup.app.id] == 0


async def test_a_dropped_socket_resumes_with_the_events_sent_meanwhile(
    fd: FakeDiscord, setup: Setup
):
    async with raw_gateway(fd) as gw:
        ready = await gw.identify(setup.app.token)
        seq = await last_seq(gw, fd, setup.app, setup.guild)
        assert fd.drop_socket(setup.app.id) == 1
        with pytest.raises(ConnectionError) as lost:
            while True:
                await gw.recv()
        # No close frame came: the socket just ended, with no code from the server.
        assert lost.value.args[1] in (None, 1006)
    (session,) = fd.gateway.sessions_of(setup.app.id)
    await eventually(lambda: session.conn is None)
    for n in range(3):
        await fd.dispatch(setup.app.id, "MISSED", {"guild_id": str(setup.guild.id), "n": n})
    async with raw_gateway(fd) as gw:
        frames = await resume_events(gw, setup.app.token, ready["session_id"], seq)
    assert [(t, d.get("n")) for t, _, d in frames[:-1]] == [("MISSED", n) for n in range(3)]
    assert [s for _, s, _ in frames] == list(range(seq + 1, seq + 5))


async def guilds_per_shard(fd: FakeDiscord, app: App, shards: int) -> dict[int, Guild]:
    found: dict[int, Guild] = {}
    while len(found) < shards:  # ids from different milliseconds land on different shards
        guild = fd.add_guild("G")
        found.setdefault((guild.id >> 22) % shards, guild)
        await asyncio.sleep(0.001)
    for guild in found.values():
        fd.install(app.id, guild.id)
    return found


async def test_reconnect_replays_each_shard_its_own_events_in_order(fd: FakeDiscord):
    app = fd.add_application("Sharded", shard_count=2)
    guilds = await guilds_per_shard(fd, app, 2)
    states: dict[int, tuple[str, int]] = {}
    for shard, guild in guilds.items():
        async with raw_gateway(fd) as gw:
            ready = await gw.identify(app.token, shard=[shard, 2])
            states[shard] = (ready["session_id"], await last_seq(gw, fd, app, guild))
            # Op 7 to this shard only; the client leaves with a resumable code.
            reconnect = asyncio.create_task(fd.reconnect(app.id, shard))
            assert await gw.until_op(7) == {"op": 7, "d": None}
            await gw.ws.close(code=4000)
            assert await reconnect == 1
    assert all(s.conn is None for s in fd.gateway.sessions_of(app.id))
    # Sent while no socket is attached to either shard, interleaved between them.
    for n in range(5):
        for guild in guilds.values():
            await fd.dispatch(app.id, "MISSED", {"guild_id": str(guild.id), "n": n})
    for shard, guild in guilds.items():
        session_id, seq = states[shard]
        async with raw_gateway(fd) as gw:
            frames = await resume_events(gw, app.token, session_id, seq)
        assert [(t, d.get("guild_id"), d.get("n")) for t, _, d in frames[:-1]] == [
            ("MISSED", str(guild.id), n) for n in range(5)
        ]
        assert [s for _, s, _ in frames] == list(range(seq + 1, seq + 7))
    assert fd.gateway.resumes[app.id] == 2
    assert fd.gateway.identifies[app.id] == 2


# -- an unchanged disnake bot against the same faults -----------------------------------------


async def test_disnake_resumes_after_a_drop_and_identifies_after_op_9(
    fd: FakeDiscord, setup: Setup
):
    bot = make_bot()
    seen: list[str] = []

    async def on_message(message: disnake.Message) -> None:
        seen.append(message.content)

    bot.add_listener(on_message)
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    async with running(fd, bot, setup.app.token) as parse_failures:
        (session,) = fd.gateway.sessions_of(setup.app.id)
        fd.gateway.hold_connections()
        assert fd.drop_socket(setup.app.id) == 1
        await eventually(lambda: session.conn is None)
        await actor.send_message(setup.general.id, "while cut off")
        fd.gateway.release_connections()
        await eventually(lambda: seen == ["while cut off"])
        assert fd.gateway.resumes[setup.app.id] == 1

        assert fd.invalidate_session(setup.app.id) == 1
        await eventually(lambda: fd.gateway.identifies[setup.app.id] == 2)
        await eventually(lambda: any(s.conn for s in fd.gateway.sessions_of(setup.app.id)))
        await actor.send_message(setup.general.id, "after op 9")
        await eventually(lambda: seen == ["while cut off", "after op 9"])
    assert parse_failures == []
    assert fd.server_errors == []
