"""A real disnake bot against the stand-in's gateway, plus raw-socket protocol checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import disnake
import pytest
from disnake.ext import commands

from emulation.discord import FakeDiscord

from .conftest import Setup
from .gateway_client import raw_gateway

TIMEOUT = 30


@asynccontextmanager
async def running(
    fd: FakeDiscord, bot: commands.InteractionBot, token: str
) -> AsyncIterator[list[str]]:
    """Start ``bot`` against ``fd`` and wait for on_ready; restore disnake's API base after.

    Yields the gateway events disnake failed to parse: a payload it rejects lands there.
    """
    original = disnake.http.Route.BASE
    disnake.http.Route.BASE = fd.api_base
    ready = asyncio.Event()
    parse_failures: list[str] = []

    async def on_ready() -> None:
        ready.set()

    async def on_gateway_error(event: str, data: Any, shard_id: Any, exc: Exception) -> None:
        parse_failures.append(f"{event}: {exc!r}")

    bot.add_listener(on_ready)
    bot.event(on_gateway_error)
    task = asyncio.create_task(bot.start(token))
    try:
        await asyncio.wait_for(ready.wait(), TIMEOUT)
        yield parse_failures
    finally:
        await bot.close()
        await asyncio.wait_for(task, TIMEOUT)
        disnake.http.Route.BASE = original


def make_bot(**kwargs: Any) -> commands.InteractionBot:
    return commands.InteractionBot(
        intents=kwargs.pop(
            "intents", disnake.Intents.default() | disnake.Intents(message_content=True)
        ),
        guild_ready_timeout=0.2,
        chunk_guilds_at_startup=False,
        owner_id=1,
        **kwargs,
    )


async def eventually(condition: Any) -> None:
    """Poll: the bot's cache is disnake's, so there is no event of ours to wait on."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.02)


async def test_ready_and_guild_create_fill_the_cache(fd: FakeDiscord, setup: Setup):
    category = fd.add_channel(setup.guild.id, "Tickets", type=4)
    fd.add_channel(setup.guild.id, "ticket-1", parent_id=category.id)
    bot = make_bot()
    async with running(fd, bot, setup.app.token) as parse_failures:
        guild = bot.get_guild(setup.guild.id)
        assert guild is not None and guild.name == "Guild"
        assert {r.name for r in guild.roles} >= {"@everyone", "Staff", "Tickets"}
        assert {c.name for c in guild.channels} == {"general", "Tickets", "ticket-1"}
        assert guild.me is not None and guild.me.id == setup.app.bot_user.id
        assert guild.me.guild_permissions.administrator
        assert bot.user.id == setup.app.bot_user.id
        (session,) = fd.gateway.sessions_of(setup.app.id)
        assert session.conn is not None and session.conn.compressed  # zlib-stream

        # A guild joined while connected arrives as GUILD_CREATE.
        later = fd.add_guild("Later")
        fd.install(setup.app.id, later.id)
        await eventually(lambda: bot.get_guild(later.id) is not None)
        # Channel changes reach the cache as events.
        fd.add_channel(setup.guild.id, "announcements")
        await eventually(lambda: any(c.name == "announcements" for c in guild.channels))
    assert parse_failures == []
    assert ("GET", "/gateway/bot") in fd.requests
    assert fd.server_errors == []


async def test_reconnect_resumes_and_replays_missed_events(fd: FakeDiscord, setup: Setup):
    bot = make_bot()
    seen: list[str] = []
    resumed = asyncio.Event()

    async def on_message(message: disnake.Message) -> None:
        seen.append(message.content)

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_message)
    bot.add_listener(on_resumed)
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    async with running(fd, bot, setup.app.token) as parse_failures:
        await actor.send_message(setup.general.id, "before")
        await eventually(lambda: seen == ["before"])

        # Hold new sockets so the event below is sent while the bot is away.
        fd.gateway.hold_connections()
        assert await fd.reconnect(setup.app.id) == 1
        await actor.send_message(setup.general.id, "while away")
        fd.gateway.release_connections()

        await asyncio.wait_for(resumed.wait(), TIMEOUT)
        await eventually(lambda: seen == ["before", "while away"])
        (session,) = fd.gateway.sessions_of(setup.app.id)
        assert session.resumes == 1
        assert [r for r in fd.requests if r[0] == "WS"] == [("WS", "/gateway")] * 2
    assert parse_failures == []


async def test_slash_button_and_modal_reach_the_bot(fd: FakeDiscord, setup: Setup):
    bot = make_bot()

    @bot.slash_command(description="Post the ticket panel")
    async def panel(inter: disnake.ApplicationCommandInteraction, staff_role: disnake.Role) -> None:
        await inter.response.send_message(
            f"Panel for {staff_role.name}",
            components=[disnake.ui.Button(label="Open", custom_id="open:1")],
        )

    async with running(fd, bot, setup.app.token) as parse_failures:
        await eventually(lambda: fd.commands(setup.app.id) != [])
        actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)

        slash = await actor.slash(
            "panel", {"staff_role": str(setup.staff.id)}, channel_id=setup.general.id
        )
        response = await slash.response(timeout=TIMEOUT)
        assert response["type"] == 4
        assert response["data"]["content"] == "Panel for Staff"
        (posted,) = fd.messages(setup.general.id)
        assert posted.components[0]["components"][0]["custom_id"] == "open:1"

        clicked = asyncio.create_task(bot.wait_for("button_click", timeout=TIMEOUT))
        click = await actor.click(posted.id, "open:1")
        button_inter = await clicked
        assert button_inter.component.custom_id == "open:1"
        assert button_inter.author.id == setup.alice.id
        await button_inter.response.send_modal(
            title="Open a ticket",
            custom_id="topic:1",
            components=[disnake.ui.TextInput(label="Topic", custom_id="topic", max_length=100)],
        )
        assert (await click.response(timeout=TIMEOUT))["type"] == 9

        submitted = asyncio.create_task(bot.wait_for("modal_submit", timeout=TIMEOUT))
        submit = await actor.submit_modal(
            "topic:1", {"topic": "My printer is on fire"}, channel_id=setup.general.id
        )
        modal_inter = await submitted
        assert modal_inter.text_values == {"topic": "My printer is on fire"}
        await modal_inter.response.defer(ephemeral=True)
        await modal_inter.followup.send("Ticket opened", ephemeral=True)
        (followup,) = await submit.followups(count=1, timeout=TIMEOUT)
        assert followup["content"] == "Ticket opened" and followup["flags"] & 64
        assert len(fd.messages(setup.general.id)) == 1  # the ephemeral answer stays private
    assert parse_failures == []
    assert fd.server_errors == []


async def test_raw_interaction_payloads_are_delivered_as_given(fd: FakeDiscord, setup: Setup):
    bot = make_bot()
    raw: list[str] = []

    async def on_socket_event_type(event: str) -> None:
        raw.append(event)

    bot.add_listener(on_socket_event_type)
    async with running(fd, bot, setup.app.token) as parse_failures:
        reached = await fd.dispatch(
            setup.app.id,
            "INTERACTION_CREATE",
            {"type": 3, "id": "1", "guild_id": str(setup.guild.id)},
        )
        assert reached == 1
        await eventually(lambda: "INTERACTION_CREATE" in raw)
        # A malformed payload does not take the connection down.
        await fd.dispatch(setup.app.id, "MESSAGE_CREATE", {"nonsense": True})
        fd.add_channel(setup.guild.id, "still-alive")
        guild = bot.get_guild(setup.guild.id)
        assert guild is not None
        await eventually(lambda: any(c.name == "still-alive" for c in guild.channels))
    assert [f.split(":")[0] for f in parse_failures] == ["INTERACTION_CREATE", "MESSAGE_CREATE"]


# -- the protocol over a raw socket ------------------------------------------------------------


async def test_handshake_heartbeat_and_ready(fd: FakeDiscord, setup: Setup):
    async with raw_gateway(fd) as gw:
        hello = await gw.recv()
        assert hello == {"op": 10, "d": {"heartbeat_interval": 41250}}
        await gw.send(1, None)
        assert (await gw.recv())["op"] == 11
        await gw.send(2, {"token": setup.app.token, "intents": 513, "properties": {}})
        ready = await gw.recv()
        assert ready["t"] == "READY" and ready["s"] == 1
        assert ready["d"]["application"] == {"id": str(setup.app.id), "flags": 0}
        assert ready["d"]["guilds"] == [{"id": str(setup.guild.id), "unavailable": True}]
        assert ready["d"]["resume_gateway_url"] == fd.gateway_url
        guild = await gw.recv()
        assert guild["t"] == "GUILD_CREATE" and guild["s"] == 2
        assert all("colors" in r for r in guild["d"]["roles"])


async def test_bad_token_closes_with_4004(fd: FakeDiscord, setup: Setup):
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": "nope", "intents": 0, "properties": {}})
        with pytest.raises(ConnectionError):
            await gw.recv()
        assert gw.ws.close_code == 4004


async def test_unknown_session_is_invalidated(fd: FakeDiscord, setup: Setup):
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(6, {"token": setup.app.token, "session_id": "gone", "seq": 3})
        assert await gw.recv() == {"op": 9, "d": False}


async def test_events_go_to_the_shard_of_their_guild(fd: FakeDiscord):
    app = fd.add_application("Sharded", shard_count=2)
    guilds: dict[int, Any] = {}
    while len(guilds) < 2:  # ids from different milliseconds land on different shards
        guild = fd.add_guild("G")
        guilds.setdefault((guild.id >> 22) % 2, guild)
        await asyncio.sleep(0.001)
    for guild in guilds.values():
        fd.install(app.id, guild.id)
    for shard, guild in guilds.items():
        async with raw_gateway(fd) as gw:
            await gw.recv()
            await gw.send(
                2, {"token": app.token, "intents": 1, "shard": [shard, 2], "properties": {}}
            )
            ready = await gw.until("READY")
            assert ready["d"]["shard"] == [shard, 2]
            assert [g["id"] for g in ready["d"]["guilds"]] == [str(guild.id)]
            await gw.until("GUILD_CREATE")
            assert await fd.dispatch(app.id, "PING_TEST", {"guild_id": str(guild.id)}) == 1
            assert (await gw.until("PING_TEST"))["d"] == {"guild_id": str(guild.id)}
