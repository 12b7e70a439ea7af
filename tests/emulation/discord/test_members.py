"""Members leaving, timed out, and edited: events, payloads and the routes that do it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import disnake
import pytest

from emulation.discord import ActorError, FakeDiscord
from emulation.discord import permissions as perms

from .conftest import Api, Setup
from .test_gateway import eventually, make_bot, raw_gateway, running
from .test_openapi import CheckedApi

GUILDS, GUILD_MEMBERS = 1, 1 << 1


async def test_leaving_and_timeouts_reach_disnake(fd: FakeDiscord, setup: Setup):
    bot = make_bot(intents=disnake.Intents.default() | disnake.Intents(members=True))
    removed: list[int] = []
    bob = fd.add_member(setup.guild.id, "bob")

    async def on_raw_member_remove(event: disnake.RawGuildMemberRemoveEvent) -> None:
        removed.append(event.user.id)

    bot.add_listener(on_raw_member_remove)
    async with running(fd, bot, setup.app.token) as parse_failures:
        guild = bot.get_guild(setup.guild.id)
        assert guild is not None
        until = datetime.now(UTC) + timedelta(hours=1)
        fd.timeout_member(setup.guild.id, setup.alice.id, until)
        await eventually(lambda: (m := guild.get_member(setup.alice.id)) and m.current_timeout)
        member = guild.get_member(setup.alice.id)
        assert member is not None and member.current_timeout is not None
        assert abs((member.current_timeout - until).total_seconds()) < 1
        fd.remove_member(setup.guild.id, bob.id)
        await eventually(lambda: removed == [bob.id])
        assert fd.member(setup.guild.id, bob.id) is None
    assert parse_failures == []


async def test_member_events_need_the_members_intent(fd: FakeDiscord, setup: Setup):
    bob = fd.add_member(setup.guild.id, "bob")
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": GUILDS})
        await gw.until("GUILD_CREATE")
        fd.remove_member(setup.guild.id, bob.id)
        fd.add_channel(setup.guild.id, "marker")
        assert (await gw.recv())["t"] == "CHANNEL_CREATE"  # no GUILD_MEMBER_REMOVE before it
    carol = fd.add_member(setup.guild.id, "carol")
    async with raw_gateway(fd, compress=False) as gw:
        await gw.recv()
        await gw.send(2, {"token": setup.app.token, "intents": GUILDS | GUILD_MEMBERS})
        await gw.until("GUILD_CREATE")
        fd.set_member_roles(setup.guild.id, carol.id, [setup.staff.id])
        updated = await gw.until("GUILD_MEMBER_UPDATE")
        assert updated["d"]["roles"] == [str(setup.staff.id)]
        fd.remove_member(setup.guild.id, carol.id)
        gone = await gw.until("GUILD_MEMBER_REMOVE")
        assert gone["d"]["guild_id"] == str(setup.guild.id)
        assert gone["d"]["user"]["id"] == str(carol.id)


async def test_timed_out_member_only_reads(fd: FakeDiscord, setup: Setup, api: Api):
    await api.call(
        "PUT", f"/applications/{setup.app.id}/commands", [{"name": "ping", "description": "P"}]
    )
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    until = datetime.now(UTC) + timedelta(minutes=10)
    fd.timeout_member(setup.guild.id, setup.alice.id, until)
    have = fd.member_permissions(setup.guild.id, setup.alice.id, setup.general.id)
    assert have == perms.VIEW_CHANNEL | perms.READ_MESSAGE_HISTORY
    with pytest.raises(ActorError, match="cannot send"):
        await actor.send_message(setup.general.id, "let me talk")
    inter = await actor.slash("ping")
    stamp = inter.payload["member"]["communication_disabled_until"]
    assert datetime.fromisoformat(stamp) == until
    status, body, _ = await api.call("GET", f"/guilds/{setup.guild.id}/members/{setup.alice.id}")
    assert (status, body["communication_disabled_until"]) == (200, stamp)
    fd.timeout_member(setup.guild.id, setup.alice.id, None)
    assert await actor.send_message(setup.general.id, "free again")


async def test_member_routes_match_the_spec(fd: FakeDiscord, setup: Setup, api: Api):
    call = CheckedApi(api)
    guild, alice = setup.guild, setup.alice
    helpers = fd.add_role(guild.id, "Helpers")
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    edited = await call(
        "PATCH",
        "/guilds/{guild_id}/members/{user_id}",
        {"roles": [str(helpers.id)], "communication_disabled_until": until, "nick": "Al"},
        guild_id=guild.id,
        user_id=alice.id,
    )
    assert edited["roles"] == [str(helpers.id)] and edited["nick"] == "Al"
    assert edited["communication_disabled_until"] is not None
    await call(
        "PUT",
        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
        guild_id=guild.id,
        user_id=alice.id,
        role_id=setup.staff.id,
        expect=204,
    )
    await call(
        "DELETE",
        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
        guild_id=guild.id,
        user_id=alice.id,
        role_id=helpers.id,
        expect=204,
    )
    assert fd.member(guild.id, alice.id).roles == [setup.staff.id]
    # A bad field refuses the whole edit.
    status, body, _ = await api.call(
        "PATCH",
        f"/guilds/{guild.id}/members/{alice.id}",
        {"roles": [], "communication_disabled_until": "next tuesday"},
    )
    assert (status, body["code"]) == (400, 50035)
    assert fd.member(guild.id, alice.id).roles == [setup.staff.id]
    far = (datetime.now(UTC) + timedelta(days=29)).isoformat()
    status, body, _ = await api.call(
        "PATCH", f"/guilds/{guild.id}/members/{alice.id}", {"communication_disabled_until": far}
    )
    assert (status, body["code"]) == (400, 50035)
    await call(
        "DELETE",
        "/guilds/{guild_id}/members/{user_id}",
        guild_id=guild.id,
        user_id=alice.id,
        expect=204,
    )
    assert fd.member(guild.id, alice.id) is None
    status, body, _ = await api.call("GET", f"/guilds/{guild.id}/members/{alice.id}")
    assert (status, body["code"]) == (404, 10007)
    assert call.problems == []
