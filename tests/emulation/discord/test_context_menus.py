"""User and message commands (the right-click menus), registered and run by a real bot."""

from __future__ import annotations

import asyncio

import disnake
import pytest

from emulation.discord import ActorError, FakeDiscord

from .conftest import Api, Setup
from .test_gateway import TIMEOUT, make_bot, running
from .test_openapi import CheckedApi


async def test_bot_gets_the_target_user_and_message(fd: FakeDiscord, setup: Setup):
    bot = make_bot()
    outsider = fd.add_user("outsider")
    seen: list[tuple[str, object]] = []

    @bot.user_command(name="Open ticket for")
    async def open_for(inter: disnake.UserCommandInteraction, user: disnake.User) -> None:
        seen.append(("user", user))
        await inter.response.send_message(f"for {user.name}", ephemeral=True)

    @bot.message_command(name="Report message")
    async def report(inter: disnake.MessageCommandInteraction, message: disnake.Message) -> None:
        seen.append(("message", message))
        await inter.response.send_message(f"reported {message.content}", ephemeral=True)

    async with running(fd, bot, setup.app.token) as parse_failures:
        async with asyncio.timeout(TIMEOUT):
            while len(fd.commands(setup.app.id)) < 2:
                await asyncio.sleep(0.02)
        registered = {c["name"]: c["type"] for c in fd.commands(setup.app.id)}
        assert registered == {"Open ticket for": 2, "Report message": 3}
        actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)

        member_pick = await actor.user_command("Open ticket for", setup.alice)
        answer = await member_pick.response(timeout=TIMEOUT)
        assert answer["data"]["content"] == "for alice"
        kind, picked = seen[-1]
        assert kind == "user" and isinstance(picked, disnake.Member)
        assert picked.id == setup.alice.id and setup.staff.id in [r.id for r in picked.roles]

        user_pick = await actor.user_command("Open ticket for", outsider.id)
        assert (await user_pick.response(timeout=TIMEOUT))["data"]["content"] == "for outsider"
        assert "members" not in user_pick.payload["data"]["resolved"]

        posted = await actor.send_message(setup.general.id, "rude words")
        reported = await actor.message_command("Report message", setup.general.id, posted.id)
        answer = await reported.response(timeout=TIMEOUT)
        assert answer["data"]["content"] == "reported rude words"
        kind, message = seen[-1]
        assert kind == "message" and isinstance(message, disnake.Message)
        assert message.id == posted.id and message.author.id == setup.alice.id
    assert parse_failures == []
    assert fd.server_errors == []


async def test_context_commands_register_like_discord(fd: FakeDiscord, setup: Setup, api: Api):
    call = CheckedApi(api)
    put = await call(
        "PUT",
        "/applications/{application_id}/commands",
        [{"name": "Open ticket for", "type": 2}, {"name": "Report message", "type": 3}],
        application_id=setup.app.id,
    )
    assert [(c["type"], c["description"]) for c in put] == [(2, ""), (3, "")]
    assert call.problems == []
    for extra in ({"description": "no"}, {"options": [{"name": "x", "type": 3}]}):
        status, body, _ = await api.call(
            "PUT", f"/applications/{setup.app.id}/commands", [{"name": "Pick", "type": 2} | extra]
        )
        assert (status, body["code"]) == (400, 50035)
        assert next(iter(extra)) in body["errors"]["0"]


async def test_actor_refuses_unknown_menus_and_hidden_messages(
    fd: FakeDiscord, setup: Setup, api: Api
):
    await api.call("PUT", f"/applications/{setup.app.id}/commands", [{"name": "Report", "type": 3}])
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    owner = fd.actor(setup.app.id, setup.guild.id, setup.guild.owner_id)
    hidden = fd.add_channel(
        setup.guild.id, "hidden", overwrites=[{"id": setup.guild.id, "type": 0, "deny": 1 << 10}]
    )
    secret = await owner.send_message(hidden.id, "secret")
    with pytest.raises(ActorError, match="cannot see"):
        await actor.message_command("Report", hidden.id, secret.id)
    with pytest.raises(ActorError, match="not in channel"):
        await actor.message_command("Report", setup.general.id, secret.id)
    with pytest.raises(ActorError, match="not registered"):
        await actor.user_command("Report", setup.alice.id)  # a message command, not a user one
