"""Members editing and deleting messages, bulk deletes, and DMs between members and bots."""

from __future__ import annotations

import asyncio

import disnake
import pytest

from emulation.discord import ActorError, FakeDiscord, Overwrite
from emulation.discord import permissions as perms

from .conftest import Api, Setup
from .test_gateway import eventually, make_bot, raw_gateway, running
from .test_openapi import CheckedApi

GUILDS, GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT = 1, 1 << 9, 1 << 12, 1 << 15


async def test_member_edits_and_deletes_reach_the_bot(fd: FakeDiscord, setup: Setup):
    bot = make_bot()
    edits: list[tuple[str, str]] = []
    deleted: list[int] = []

    async def on_message_edit(before: disnake.Message, after: disnake.Message) -> None:
        edits.append((before.content, after.content))

    async def on_raw_message_delete(event: disnake.RawMessageDeleteEvent) -> None:
        deleted.append(event.message_id)

    bot.add_listener(on_message_edit)
    bot.add_listener(on_raw_message_delete)
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    async with running(fd, bot, setup.app.token) as parse_failures:
        posted = await alice.send_message(setup.general.id, "helo")
        await eventually(lambda: bot.get_message(posted.id) is not None)
        await alice.edit_message(setup.general.id, posted.id, "hello")
        await eventually(lambda: edits == [("helo", "hello")])
        assert fd.messages(setup.general.id)[0].edited_timestamp is not None
        await alice.delete_message(setup.general.id, posted.id)
        await eventually(lambda: deleted == [posted.id])
        assert fd.messages(setup.general.id) == []
    assert parse_failures == []


async def test_members_may_only_edit_and_delete_what_the_client_allows(
    fd: FakeDiscord, setup: Setup
):
    bob = fd.add_member(setup.guild.id, "bob")
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    posted = await alice.send_message(setup.general.id, "mine")
    as_bob = fd.actor(setup.app.id, setup.guild.id, bob.id)
    with pytest.raises(ActorError, match="someone else"):
        await as_bob.edit_message(setup.general.id, posted.id, "yours now")
    with pytest.raises(ActorError, match="may not delete"):
        await as_bob.delete_message(setup.general.id, posted.id)
    mods = fd.add_role(setup.guild.id, "Mods", permissions=perms.MANAGE_MESSAGES)
    fd.set_member_roles(setup.guild.id, bob.id, [mods.id])
    await as_bob.delete_message(setup.general.id, posted.id)
    assert fd.messages(setup.general.id) == []
    with pytest.raises(ActorError, match="not in channel"):
        await alice.edit_message(setup.general.id, posted.id, "gone")


async def test_message_events_follow_visibility_and_content_intent(fd: FakeDiscord, setup: Setup):
    hidden = fd.add_channel(setup.guild.id, "staff-only")
    other = fd.add_application("Other")
    fd.install(other.id, setup.guild.id, permissions=perms.VIEW_CHANNEL)
    fd.world.set_overwrite(hidden, Overwrite(id=other.bot_user.id, type=1, deny=perms.VIEW_CHANNEL))
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": other.token, "intents": GUILDS | GUILD_MESSAGES})
        await gw.until("GUILD_CREATE")
        await alice.send_message(hidden.id, "secret")
        seen = await alice.send_message(setup.general.id, "public words")
        created = await gw.until("MESSAGE_CREATE")
        # The hidden channel's message never came; this one came without its content.
        assert created["d"]["id"] == str(seen.id) and created["d"]["content"] == ""
        await alice.edit_message(setup.general.id, seen.id, "edited words")
        updated = await gw.until("MESSAGE_UPDATE")
        assert updated["d"]["id"] == str(seen.id) and updated["d"]["content"] == ""
        await alice.delete_message(setup.general.id, seen.id)
        gone = await gw.until("MESSAGE_DELETE")
        assert gone["d"] == {
            "id": str(seen.id),
            "channel_id": str(setup.general.id),
            "guild_id": str(setup.guild.id),
        }


async def test_bulk_delete(fd: FakeDiscord, setup: Setup, api: Api):
    bot = make_bot()
    bulk: list[set[int]] = []

    async def on_raw_bulk_message_delete(event: disnake.RawBulkMessageDeleteEvent) -> None:
        bulk.append(set(event.message_ids))

    bot.add_listener(on_raw_bulk_message_delete)
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    posted = [await alice.send_message(setup.general.id, f"spam {i}") for i in range(3)]
    call = CheckedApi(api)
    async with running(fd, bot, setup.app.token) as parse_failures:
        await call(
            "POST",
            "/channels/{channel_id}/messages/bulk-delete",
            {"messages": [str(m.id) for m in posted[:2]]},
            channel_id=setup.general.id,
            expect=204,
        )
        await eventually(lambda: bulk == [{posted[0].id, posted[1].id}])
    assert [m.content for m in fd.messages(setup.general.id)] == ["spam 2"]
    for messages, code in [([posted[2].id], 50035), ([posted[2].id] * 2, 50035), ([1, 2], 50034)]:
        status, body, _ = await api.call(
            "POST", f"/channels/{setup.general.id}/messages/bulk-delete", {"messages": messages}
        )
        assert (status, body["code"]) == (400, code), messages
    assert call.problems == [] and parse_failures == []


async def test_dms_both_ways(fd: FakeDiscord, setup: Setup):
    # No message_content intent: DMs still carry their text, as on Discord.
    bot = make_bot(intents=disnake.Intents(guilds=True, dm_messages=True))
    got: list[disnake.Message] = []

    async def on_message(message: disnake.Message) -> None:
        if message.author.bot:
            return
        got.append(message)
        await message.channel.send(f"you said: {message.content}")

    bot.add_listener(on_message)
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    async with running(fd, bot, setup.app.token) as parse_failures:
        await alice.send_dm(setup.app.id, "help me")
        await eventually(lambda: len(fd.dms(setup.alice.id, setup.app.id)) == 2)
        (message,) = got
        assert isinstance(message.channel, disnake.DMChannel) and message.guild is None
        assert message.content == "help me"
        assert [m.content for m in fd.dms(setup.alice.id, setup.app.id)] == [
            "help me",
            "you said: help me",
        ]

        fd.block_dms(setup.alice.id)
        user = await bot.fetch_user(setup.alice.id)
        with pytest.raises(disnake.Forbidden) as refused:
            await user.send("are you there?")
        assert refused.value.code == 50007
        assert len(fd.dms(setup.alice.id, setup.app.id)) == 2
    assert parse_failures == []
    assert fd.server_errors == []


async def test_dm_events_need_the_direct_messages_intent(fd: FakeDiscord, setup: Setup):
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": GUILDS | GUILD_MESSAGES})
        await gw.until("GUILD_CREATE")
        await alice.send_dm(setup.app.id, "unheard")
        await alice.send_message(setup.general.id, "heard")
        created = await gw.until("MESSAGE_CREATE")
        assert "guild_id" in created["d"]  # the DM before it was not delivered
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": DIRECT_MESSAGES})
        await gw.until("READY")
        await alice.send_dm(setup.app.id, "heard in DM")
        created = await gw.until("MESSAGE_CREATE")
        assert "guild_id" not in created["d"] and "member" not in created["d"]
        assert created["d"]["content"] == "heard in DM"
    stranger = fd.add_application("Stranger")
    with pytest.raises(ActorError, match="shares no guild"):
        await alice.send_dm(stranger.id, "hi")


async def test_a_pin_is_announced_once_by_a_system_message(fd: FakeDiscord, setup: Setup, api: Api):
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    note = await alice.send_message(setup.general.id, "pin me")
    call = CheckedApi(api)
    pin = "/channels/{channel_id}/messages/pins/{message_id}"
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": GUILDS | GUILD_MESSAGES})
        await gw.until("GUILD_CREATE")
        await call("PUT", pin, channel_id=setup.general.id, message_id=note.id, expect=204)
        created = (await asyncio.wait_for(gw.until("MESSAGE_CREATE"), 30))["d"]
        # Discord's "X pinned a message": type 6, by the pinner, pointing at the pin.
        assert created["type"] == 6 and created["author"]["id"] == str(setup.app.bot_user.id)
        assert created["message_reference"] == {
            "type": 0,
            "channel_id": str(setup.general.id),
            "message_id": str(note.id),
            "guild_id": str(setup.guild.id),
        }
        # Pinning a pinned message again announces nothing.
        await call("PUT", pin, channel_id=setup.general.id, message_id=note.id, expect=204)
    listed = await call("GET", "/channels/{channel_id}/messages", channel_id=setup.general.id)
    assert [m["type"] for m in listed] == [6, 0]
    # The pinner may delete the announcement, as bots do to keep tickets tidy.
    await call(
        "DELETE",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=setup.general.id,
        message_id=listed[0]["id"],
        expect=204,
    )
    assert [m.id for m in fd.messages(setup.general.id)] == [note.id]
    assert call.problems == []
