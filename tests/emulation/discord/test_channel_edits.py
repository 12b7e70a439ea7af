"""Channel edits through disnake and raw REST; autocomplete answered by a real bot."""

from __future__ import annotations

import disnake

from emulation.discord import FakeDiscord
from emulation.discord import permissions as perms

from .conftest import Api, Setup
from .test_gateway import TIMEOUT, eventually, make_bot, running
from .test_openapi import CheckedApi


async def test_disnake_edits_a_channel_and_hears_channel_update(fd: FakeDiscord, setup: Setup):
    open_cat = fd.add_channel(setup.guild.id, "Open", type=4)
    closed_cat = fd.add_channel(setup.guild.id, "Closed", type=4)
    ticket = fd.add_channel(setup.guild.id, "ticket-1", parent_id=open_cat.id)
    bot = make_bot()
    async with running(fd, bot, setup.app.token) as parse_failures:
        channel = bot.get_channel(ticket.id)
        closed = bot.get_channel(closed_cat.id)
        guild = bot.get_guild(setup.guild.id)
        assert isinstance(channel, disnake.TextChannel)
        assert isinstance(closed, disnake.CategoryChannel) and guild is not None
        staff = guild.get_role(setup.staff.id)
        assert staff is not None
        await channel.edit(
            name="Closed 1",
            topic="Printer (closed)",
            slowmode_delay=30,
            category=closed,
            overwrites={
                guild.default_role: disnake.PermissionOverwrite(view_channel=False),
                staff: disnake.PermissionOverwrite(view_channel=True, send_messages=False),
            },
        )
        cached = bot.get_channel(ticket.id)
        assert isinstance(cached, disnake.TextChannel)
        await eventually(lambda: cached.category_id == closed_cat.id)
        assert (cached.name, cached.topic, cached.slowmode_delay) == (
            "closed-1",
            "Printer (closed)",
            30,
        )
        assert cached.overwrites_for(staff).send_messages is False
    stored = fd.channel(ticket.id)
    assert stored is not None and stored.parent_id == closed_cat.id
    # The overwrites were replaced, not merged.
    assert {(o.id, o.deny) for o in stored.permission_overwrites} == {
        (setup.guild.id, perms.VIEW_CHANNEL),
        (setup.staff.id, perms.SEND_MESSAGES),
    }
    assert parse_failures == []
    assert fd.server_errors == []


async def test_patch_channel_rules(fd: FakeDiscord, setup: Setup, api: Api):
    call = CheckedApi(api)
    full = fd.add_channel(setup.guild.id, "Full", type=4)
    for i in range(50):
        fd.add_channel(setup.guild.id, f"c{i}", parent_id=full.id)
    ticket = fd.add_channel(setup.guild.id, "ticket-2", topic="kept")
    moved = await call(
        "PATCH",
        "/channels/{channel_id}",
        {"position": 7, "parent_id": None, "rate_limit_per_user": 0},
        channel_id=ticket.id,
    )
    assert moved["position"] == 7
    # A full category refuses the move, and nothing else in the same edit is applied.
    status, body, _ = await api.call(
        "PATCH", f"/channels/{ticket.id}", {"name": "renamed", "parent_id": str(full.id)}
    )
    assert (status, body["code"]) == (400, 50035) and "parent_id" in body["errors"]
    status, body, _ = await api.call(
        "PATCH", f"/channels/{ticket.id}", {"topic": "lost", "rate_limit_per_user": 99999}
    )
    assert (status, body["code"]) == (400, 50035) and "rate_limit_per_user" in body["errors"]
    stored = fd.channel(ticket.id)
    assert stored is not None
    assert (stored.name, stored.topic, stored.parent_id) == ("ticket-2", "kept", None)
    assert call.problems == []


async def test_autocomplete_returns_the_bots_choices(fd: FakeDiscord, setup: Setup):
    bot = make_bot()

    async def topics(inter: disnake.ApplicationCommandInteraction, current: str) -> list[str]:
        return [t for t in ("billing", "bug", "other") if t.startswith(current)]

    @bot.slash_command(description="Open a ticket")
    async def ticket(
        inter: disnake.ApplicationCommandInteraction,
        topic: str = disnake.ext.commands.Param(autocomplete=topics),
    ) -> None:
        await inter.response.send_message(topic)

    async with running(fd, bot, setup.app.token) as parse_failures:
        await eventually(lambda: fd.commands(setup.app.id) != [])
        actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
        asked = await actor.autocomplete("ticket", {"topic": "b"}, "topic")
        answer = await asked.response(timeout=TIMEOUT)
        assert answer["type"] == 8
        assert [c["value"] for c in answer["data"]["choices"]] == ["billing", "bug"]
        assert fd.messages(setup.general.id) == []  # autocomplete posts nothing
    assert parse_failures == []
