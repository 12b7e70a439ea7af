"""Threads: REST routes checked against the spec, Discord's rules, and a real disnake bot."""

from __future__ import annotations

import disnake
import pytest

from emulation.discord import ActorError, FakeDiscord
from emulation.discord import permissions as perms

from .conftest import Api, Setup
from .test_gateway import eventually, make_bot, raw_gateway, running
from .test_openapi import CheckedApi

GUILDS, GUILD_MEMBERS = 1, 1 << 1


async def test_private_thread_lifecycle_matches_the_spec(fd: FakeDiscord, setup: Setup, api: Api):
    call = CheckedApi(api)
    general, alice = setup.general.id, setup.alice.id
    thread = await call(
        "POST",
        "/channels/{channel_id}/threads",
        {"name": "ticket-1", "type": 12, "invitable": False, "auto_archive_duration": 1440},
        channel_id=general,
        expect=201,
    )
    assert thread["type"] == 12 and thread["parent_id"] == str(general)
    assert thread["owner_id"] == str(setup.app.bot_user.id)
    assert thread["thread_metadata"]["invitable"] is False
    assert thread["member"]["user_id"] == str(setup.app.bot_user.id)
    tid = thread["id"]
    assert fd.visible_channels(setup.guild.id, alice) == [setup.general]  # not a member yet

    await call(
        "PUT",
        "/channels/{channel_id}/thread-members/{user_id}",
        channel_id=tid,
        user_id=alice,
        expect=204,
    )
    assert fd.thread_members(int(tid)) == [setup.app.bot_user.id, alice]
    assert int(tid) in [c.id for c in fd.visible_channels(setup.guild.id, alice)]
    listed = await call("GET", "/channels/{channel_id}/thread-members", channel_id=tid)
    assert [m["user_id"] for m in listed] == [str(setup.app.bot_user.id), str(alice)]
    await call(
        "GET", "/channels/{channel_id}/thread-members/{user_id}", channel_id=tid, user_id=alice
    )
    await call("POST", "/channels/{channel_id}/messages", {"content": "Welcome"}, channel_id=tid)
    got = await call("GET", "/channels/{channel_id}", channel_id=tid)
    assert (got["message_count"], got["member_count"]) == (1, 2)

    # Archived: a member's message reopens it; locked too: the member can no longer post.
    archived = await call("PATCH", "/channels/{channel_id}", {"archived": True}, channel_id=tid)
    assert archived["thread_metadata"]["archived"] is True
    actor = fd.actor(setup.app.id, setup.guild.id, alice)
    await actor.send_message(int(tid), "still there?")
    assert fd.channel(int(tid)).thread.archived is False
    locked = await call(
        "PATCH",
        "/channels/{channel_id}",
        {"archived": True, "locked": True, "name": "closed-1"},
        channel_id=tid,
    )
    assert locked["name"] == "closed-1" and locked["thread_metadata"]["locked"] is True
    with pytest.raises(ActorError, match="cannot send"):
        await actor.send_message(int(tid), "let me in")
    # The bot moderates (administrator): its message reopens the locked thread.
    await call("POST", "/channels/{channel_id}/messages", {"content": "Reopened"}, channel_id=tid)
    assert fd.channel(int(tid)).thread.archived is False

    await call(
        "DELETE",
        "/channels/{channel_id}/thread-members/{user_id}",
        channel_id=tid,
        user_id=alice,
        expect=204,
    )
    await call("DELETE", "/channels/{channel_id}/thread-members/@me", channel_id=tid, expect=204)
    await call("PUT", "/channels/{channel_id}/thread-members/@me", channel_id=tid, expect=204)
    assert fd.thread_members(int(tid)) == [setup.app.bot_user.id]

    posted = await call(
        "POST", "/channels/{channel_id}/messages", {"content": "Discuss"}, channel_id=general
    )
    public = await call(
        "POST",
        "/channels/{channel_id}/messages/{message_id}/threads",
        {"name": "discussion"},
        channel_id=general,
        message_id=posted["id"],
        expect=201,
    )
    assert public["id"] == posted["id"] and public["type"] == 11
    again = await api.call(
        "POST", f"/channels/{general}/messages/{posted['id']}/threads", {"name": "again"}
    )
    assert (again[0], again[1]["code"]) == (400, 160004)
    assert [t.id for t in fd.threads(general)] == [int(tid), int(public["id"])]

    await call("DELETE", "/channels/{channel_id}", channel_id=tid)
    assert fd.channel(int(tid)) is None and fd.threads(general) == [fd.channel(int(posted["id"]))]
    assert call.problems == []
    assert fd.server_errors == []


async def test_thread_permissions(fd: FakeDiscord, setup: Setup, api: Api):
    guild = setup.guild
    weak = fd.add_application("Weak")
    fd.install(weak.id, guild.id, permissions=perms.VIEW_CHANNEL | perms.SEND_MESSAGES)
    everyone = guild.roles[guild.id]
    everyone.permissions &= ~perms.CREATE_PRIVATE_THREADS
    bob = fd.add_member(guild.id, "bob")
    as_bob = fd.actor(setup.app.id, guild.id, bob.id)
    with pytest.raises(ActorError, match="may not create threads"):
        await as_bob.create_thread(setup.general.id, "mine", private=True)
    public = await as_bob.create_thread(setup.general.id, "open talk")
    assert fd.thread_members(public.id) == [bob.id]

    status, thread, _ = await api.call(
        "POST", f"/channels/{setup.general.id}/threads", {"name": "private", "type": 12}
    )
    assert status == 201
    weak_api = Api(api.session, api.base, weak.token)
    # A private thread is invisible to a bot that is neither in it nor a moderator.
    status, body, _ = await weak_api.call("GET", f"/channels/{thread['id']}")
    assert (status, body["code"]) == (403, 50001)
    status, body, _ = await weak_api.call("PATCH", f"/channels/{public.id}", {"locked": True})
    assert (status, body["code"]) == (403, 50013)
    await api.call("PUT", f"/channels/{thread['id']}/thread-members/{weak.bot_user.id}")
    status, body, _ = await weak_api.call("GET", f"/channels/{thread['id']}")
    assert status == 200 and body["member"]["user_id"] == str(weak.bot_user.id)
    # Without Send Messages in Threads, members only read.
    everyone.permissions &= ~perms.SEND_MESSAGES_IN_THREADS
    with pytest.raises(ActorError, match="cannot send"):
        await as_bob.send_message(public.id, "hello")


async def test_thread_events_reach_the_bots_that_see_them(fd: FakeDiscord, setup: Setup):
    other = fd.add_application("Other")
    fd.install(other.id, setup.guild.id, permissions=perms.VIEW_CHANNEL)
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": other.token, "intents": GUILDS})
        await gw.until("GUILD_CREATE")
        hidden = await alice.create_thread(setup.general.id, "secret", private=True)
        shown = await alice.create_thread(setup.general.id, "open")
        created = await gw.until("THREAD_CREATE")
        # The private thread never arrived; no THREAD_MEMBERS_UPDATE without GUILD_MEMBERS.
        assert created["d"]["id"] == str(shown.id) and created["d"]["newly_created"] is True
        for key in ("thread_metadata", "owner_id", "member_count", "message_count"):
            assert key in created["d"]
        await alice.join_thread(hidden.id)  # alice already is: no event
        fd.add_thread_member(hidden.id, other.bot_user.id)
        joined = await gw.recv()
        assert joined["t"] == "THREAD_CREATE" and joined["d"]["id"] == str(hidden.id)
        assert "newly_created" not in joined["d"]
        members = await gw.until("THREAD_MEMBERS_UPDATE")
        assert members["d"]["added_members"][0]["user_id"] == str(other.bot_user.id)
        fd.delete_channel(shown.id)
        deleted = await gw.until("THREAD_DELETE")
        assert deleted["d"] == {
            "id": str(shown.id),
            "guild_id": str(setup.guild.id),
            "parent_id": str(setup.general.id),
            "type": 11,
        }


async def test_disnake_creates_and_follows_threads(fd: FakeDiscord, setup: Setup):
    bot = make_bot(intents=disnake.Intents.default() | disnake.Intents(members=True))
    joined: list[int] = []

    async def on_thread_member_join(member: disnake.ThreadMember) -> None:
        joined.append(member.id)

    bot.add_listener(on_thread_member_join)
    async with running(fd, bot, setup.app.token) as parse_failures:
        channel = bot.get_channel(setup.general.id)
        assert isinstance(channel, disnake.TextChannel)
        thread = await channel.create_thread(
            name="ticket-7", type=disnake.ChannelType.private_thread, invitable=False
        )
        assert isinstance(thread, disnake.Thread) and thread.invitable is False
        await thread.add_user(disnake.Object(setup.alice.id))
        await eventually(lambda: joined == [setup.alice.id])
        posted = await fd.actor(setup.app.id, setup.guild.id, setup.alice.id).send_message(
            thread.id, "thanks"
        )
        cached = bot.get_channel(thread.id)
        assert isinstance(cached, disnake.Thread)
        await eventually(lambda: cached.last_message_id == posted.id)
        await thread.edit(archived=True, locked=True)
        await eventually(lambda: cached is not None and cached.locked)
        assert isinstance(cached, disnake.Thread) and cached.archived
        fetched = await bot.fetch_channel(thread.id)
        assert isinstance(fetched, disnake.Thread) and fetched.owner_id == bot.user.id
    assert parse_failures == []
    assert fd.server_errors == []


async def test_guild_create_carries_active_threads(fd: FakeDiscord, setup: Setup):
    alice = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    active = await alice.create_thread(setup.general.id, "active", private=True)
    archived = await alice.create_thread(setup.general.id, "archived")
    await alice.send_message(archived.id, "bump")
    fd.world.channels[archived.id].thread.archived = True  # archived while nobody watched
    bot = make_bot()
    async with running(fd, bot, setup.app.token) as parse_failures:
        guild = bot.get_guild(setup.guild.id)
        assert guild is not None
        assert [t.id for t in guild.threads] == [active.id]
        cached = guild.get_thread(active.id)
        assert cached is not None and cached.type == disnake.ChannelType.private_thread
    assert parse_failures == []
