"""Presences: GUILD_CREATE's list and PRESENCE_UPDATE only with the intent; op 3 recorded."""

from __future__ import annotations

import disnake

from emulation.discord import FakeDiscord

from .conftest import Setup
from .test_gateway import eventually, make_bot, raw_gateway, running

GUILDS, GUILD_PRESENCES = 1, 1 << 8


async def test_presences_need_the_intent(fd: FakeDiscord, setup: Setup):
    fd.set_presence(setup.alice.id, "online")
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": GUILDS})
        created = await gw.until("GUILD_CREATE")
        assert created["d"]["presences"] == []
        fd.set_presence(setup.alice.id, "idle")
        fd.add_channel(setup.guild.id, "marker")
        assert (await gw.recv())["t"] == "CHANNEL_CREATE"  # no PRESENCE_UPDATE before it
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": GUILDS | GUILD_PRESENCES})
        created = await gw.until("GUILD_CREATE")
        (listed,) = created["d"]["presences"]
        assert listed["user"]["id"] == str(setup.alice.id) and listed["status"] == "idle"
        fd.set_presence(setup.alice.id, "offline")
        update = (await gw.until("PRESENCE_UPDATE"))["d"]
        assert update["guild_id"] == str(setup.guild.id)
        assert (update["user"]["id"], update["status"]) == (str(setup.alice.id), "offline")


async def test_presence_updates_are_recorded_and_bad_ones_refused(fd: FakeDiscord, setup: Setup):
    presence = {
        "since": None,
        "activities": [{"name": "3 open tickets", "type": 3}],
        "status": "dnd",
        "afk": False,
    }
    async with raw_gateway(fd, compress=False) as gw:
        await gw.identify(setup.app.token)
        await gw.send(3, presence)
        await gw.send(1, None)
        await gw.until_op(11)  # handled in order: the update came first
        assert fd.presence_updates(setup.app.id) == [presence]
        await gw.send(3, presence | {"status": "sleeping"})
        assert await gw.closed() == 4002
    assert fd.presence_updates(setup.app.id) == [presence]


async def test_disnake_sees_presences_and_sets_its_own(fd: FakeDiscord, setup: Setup):
    fd.set_presence(setup.alice.id, "dnd")
    intents = disnake.Intents.default() | disnake.Intents(presences=True, members=True)
    bot = make_bot(intents=intents)
    async with running(fd, bot, setup.app.token) as parse_failures:
        guild = bot.get_guild(setup.guild.id)
        assert guild is not None

        def status() -> str | None:
            member = guild.get_member(setup.alice.id)
            return member.status.value if member else None

        await eventually(lambda: status() == "dnd")
        fd.set_presence(setup.alice.id, "online")
        await eventually(lambda: status() == "online")
        await bot.change_presence(
            activity=disnake.Activity(type=disnake.ActivityType.watching, name="tickets"),
            status=disnake.Status.idle,
        )
        await eventually(lambda: len(fd.presence_updates(setup.app.id)) == 1)
        (sent,) = fd.presence_updates(setup.app.id)
        assert sent["status"] == "idle"
        assert sent["activities"][0]["name"] == "tickets"
    assert parse_failures == []
