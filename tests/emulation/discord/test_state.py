"""World rules: permissions, tenant isolation, deletion, acknowledgement, input checks."""

from __future__ import annotations

import time

import aiohttp
import pytest

from emulation.discord import ActorError, FakeDiscord
from emulation.discord import permissions as perms
from emulation.discord.snowflake import SnowflakeFactory, snowflake_ms

from .conftest import Api, Setup

VIEW = perms.VIEW_CHANNEL
SEND = perms.SEND_MESSAGES


def test_snowflakes_are_time_based_and_strictly_increasing():
    factory = SnowflakeFactory()
    ids = [factory.next() for _ in range(10_000)]
    assert ids == sorted(set(ids))
    assert abs(snowflake_ms(ids[0]) - time.time() * 1000) < 5_000


def test_base_permissions_from_everyone_and_roles(fd: FakeDiscord, setup: Setup):
    guild = setup.guild
    mods = fd.add_role(guild.id, "Mods", permissions=perms.MANAGE_MESSAGES)
    bob = fd.add_member(guild.id, "bob", roles=[mods.id])
    got = fd.member_permissions(guild.id, bob.id)
    assert got & VIEW and got & perms.MANAGE_MESSAGES
    assert not got & perms.MANAGE_CHANNELS


def test_admin_and_owner_have_everything(fd: FakeDiscord, setup: Setup):
    guild = setup.guild
    admins = fd.add_role(guild.id, "Admins", permissions=perms.ADMINISTRATOR)
    root = fd.add_member(guild.id, "root", roles=[admins.id])
    owner = fd.guild_owner(guild.id)
    locked = fd.add_channel(
        guild.id,
        "locked",
        overwrites=[
            {"id": guild.id, "type": 0, "deny": VIEW},
            {"id": root.id, "type": 1, "deny": VIEW},
        ],
    )
    for user_id in (root.id, owner.id):
        assert fd.member_permissions(guild.id, user_id, locked.id) == perms.ALL
    assert guild.owner_id == owner.id


def test_overwrites_apply_everyone_then_roles_then_member(fd: FakeDiscord, setup: Setup):
    guild, staff, alice = setup.guild, setup.staff, setup.alice
    bob = fd.add_member(guild.id, "bob")
    carol = fd.add_member(guild.id, "carol", roles=[staff.id])
    ticket = fd.add_channel(
        guild.id,
        "ticket-1",
        overwrites=[
            {"id": guild.id, "type": 0, "deny": VIEW},
            {"id": staff.id, "type": 0, "allow": VIEW | SEND},
            {"id": carol.id, "type": 1, "deny": SEND},
        ],
    )
    assert not fd.member_permissions(guild.id, bob.id, ticket.id) & VIEW
    assert fd.member_permissions(guild.id, alice.id, ticket.id) & (VIEW | SEND) == VIEW | SEND
    carol_perms = fd.member_permissions(guild.id, carol.id, ticket.id)
    assert carol_perms & VIEW and not carol_perms & SEND
    # Without a channel, overwrites do not count.
    assert fd.member_permissions(guild.id, bob.id) & VIEW


async def test_other_tenants_guild_looks_missing(fd: FakeDiscord, setup: Setup, api: Api):
    other_app = fd.add_application(name="Other")
    other_guild = fd.add_guild(name="Other guild")
    other_channel = fd.add_channel(other_guild.id, "secret")
    fd.install(other_app.id, other_guild.id)

    status, body, _ = await api.call("GET", f"/guilds/{other_guild.id}")
    assert (status, body["code"]) == (404, 10004)
    status, body, _ = await api.call("GET", f"/channels/{other_channel.id}")
    assert (status, body["code"]) == (404, 10003)
    status, body, _ = await api.call(
        "POST", f"/channels/{other_channel.id}/messages", {"content": "hi"}
    )
    assert (status, body["code"]) == (404, 10003)
    status, body, _ = await api.call("PUT", f"/applications/{other_app.id}/commands", [])
    assert (status, body["code"]) == (403, 20012)
    # The owner of that guild still sees it.
    status, _, _ = await api.call("GET", f"/guilds/{other_guild.id}", token=other_app.token)
    assert status == 200
    assert fd.messages(other_channel.id) == []


async def test_deleted_channel_is_gone(fd: FakeDiscord, setup: Setup, api: Api):
    channel = fd.add_channel(setup.guild.id, "to delete")
    status, body, _ = await api.call("DELETE", f"/channels/{channel.id}")
    assert status == 200 and body["id"] == str(channel.id)
    assert fd.channel(channel.id) is None
    assert channel.id in fd.deleted_channels
    for method, path in [
        ("GET", f"/channels/{channel.id}"),
        ("DELETE", f"/channels/{channel.id}"),
        ("POST", f"/channels/{channel.id}/messages"),
    ]:
        status, body, _ = await api.call(method, path, {"content": "x"})
        assert (status, body["code"]) == (404, 10003), (method, path)


async def test_second_callback_is_refused(fd: FakeDiscord, setup: Setup, api: Api):
    await api.call(
        "PUT",
        f"/applications/{setup.app.id}/commands",
        [{"name": "ping", "description": "Ping", "type": 1}],
    )
    inter = await fd.actor(setup.app.id, setup.guild.id, setup.alice.id).slash("ping")
    path = f"/interactions/{inter.id}/{inter.token}/callback"
    first = await api.call("POST", path, {"type": 4, "data": {"content": "pong"}}, token="")
    assert first[0] == 204
    status, body, _ = await api.call("POST", path, {"type": 4, "data": {"content": "again"}})
    assert (status, body["code"]) == (400, 40060)
    assert body["message"] == "Interaction has already been acknowledged."
    assert (await inter.response())["data"]["content"] == "pong"
    assert [m.content for m in fd.messages(setup.general.id)] == ["pong"]
    status, body, _ = await api.call(
        "POST", f"/interactions/{inter.id}/wrong-token/callback", {"type": 4}
    )
    assert (status, body["code"]) == (404, 10062)


async def test_ephemeral_reply_stays_off_the_channel(fd: FakeDiscord, setup: Setup, api: Api):
    await api.call(
        "PUT", f"/applications/{setup.app.id}/commands", [{"name": "ping", "description": "P"}]
    )
    inter = await fd.actor(setup.app.id, setup.guild.id, setup.alice.id).slash("ping")
    await api.call(
        "POST",
        f"/interactions/{inter.id}/{inter.token}/callback",
        {"type": 4, "data": {"content": "only you", "flags": 64}},
    )
    assert fd.messages(setup.general.id) == []
    original = inter.original()
    assert original is not None
    assert original["content"] == "only you" and original["flags"] & 64


async def test_first_followup_fills_the_deferred_message(fd: FakeDiscord, setup: Setup, api: Api):
    await api.call(
        "PUT", f"/applications/{setup.app.id}/commands", [{"name": "ping", "description": "P"}]
    )
    inter = await fd.actor(setup.app.id, setup.guild.id, setup.alice.id).slash("ping")
    await api.call("POST", f"/interactions/{inter.id}/{inter.token}/callback", {"type": 5})
    hook = f"/webhooks/{setup.app.id}/{inter.token}"
    status, first, _ = await api.call("POST", hook + "?wait=true", {"content": "one"}, token="")
    assert status == 200
    status, second, _ = await api.call("POST", hook + "?wait=1", {"content": "two"}, token="")
    assert first["id"] == inter.original()["id"]  # the "thinking" message became the answer
    assert second["id"] != first["id"]
    assert [m["content"] for m in await inter.followups(count=2)] == ["one", "two"]
    assert [m.content for m in fd.messages(setup.general.id)] == ["one", "two"]
    assert not fd.messages(setup.general.id)[0].flags & (1 << 7)


async def test_errors_have_discord_shape(fd: FakeDiscord, setup: Setup, api: Api):
    status, body, resp = await api.call("GET", "/users/@me", token="nope")
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert resp.headers["Content-Type"] == "application/json"
    status, body, _ = await api.call("GET", "/no/such/route")
    assert (status, body) == (404, {"code": 0, "message": "404: Not Found"})
    status, body, _ = await api.call(
        "POST", f"/guilds/{setup.guild.id}/channels", {"name": 5, "type": 0}
    )
    assert (status, body["code"]) == (400, 50035)
    assert "name" in body["errors"]
    status, body, _ = await api.call(
        "POST",
        f"/guilds/{setup.guild.id}/channels",
        data=b"{not json",
    )
    assert (status, body["code"]) == (400, 50035)
    status, body, _ = await api.call("GET", "/channels/abc")
    assert (status, body["code"]) == (400, 50035)
    status, body, _ = await api.call("POST", f"/channels/{setup.general.id}/messages", {})
    assert (status, body["code"]) == (400, 50006)
    assert fd.server_errors == []


async def test_bot_without_permissions_is_refused(fd: FakeDiscord):
    app = fd.add_application(name="Weak")
    guild = fd.add_guild(name="G")
    fd.install(app.id, guild.id, permissions=0)
    async with aiohttp.ClientSession() as session:
        api = Api(session, fd.api_base, app.token)
        status, body, _ = await api.call(
            "POST", f"/guilds/{guild.id}/channels", {"name": "x", "type": 0}
        )
        assert (status, body["code"]) == (403, 50013)


async def test_text_channel_names_follow_discord_rules(fd: FakeDiscord, setup: Setup, api: Api):
    status, body, _ = await api.call(
        "POST", f"/guilds/{setup.guild.id}/channels", {"name": "Ticket  For Alice", "type": 0}
    )
    assert status == 201 and body["name"] == "ticket-for-alice"
    status, body, _ = await api.call(
        "POST", f"/guilds/{setup.guild.id}/channels", {"name": "Open Tickets", "type": 4}
    )
    assert body["name"] == "Open Tickets"  # categories keep their case and spaces


async def test_allowed_mentions_decide_who_is_pinged(fd: FakeDiscord, setup: Setup, api: Api):
    text = f"<@{setup.alice.id}> said @everyone"
    _, pinging, _ = await api.call(
        "POST", f"/channels/{setup.general.id}/messages", {"content": text}
    )
    _, quiet, _ = await api.call(
        "POST",
        f"/channels/{setup.general.id}/messages",
        {"content": text, "allowed_mentions": {"parse": []}},
    )
    assert [u["id"] for u in pinging["mentions"]] == [str(setup.alice.id)]
    assert pinging["mention_everyone"] is True
    assert quiet["mentions"] == [] and quiet["mention_everyone"] is False
    assert fd.messages(setup.general.id)[1].allowed_mentions == {"parse": []}


async def test_actor_refuses_what_the_client_would(fd: FakeDiscord, setup: Setup, api: Api):
    actor = fd.actor(setup.app.id, setup.guild.id, setup.alice.id)
    with pytest.raises(ActorError, match="not registered"):
        await actor.slash("nothing")
    hidden = fd.add_channel(
        setup.guild.id, "hidden", overwrites=[{"id": setup.guild.id, "type": 0, "deny": VIEW}]
    )
    with pytest.raises(ActorError, match="cannot send"):
        await actor.send_message(hidden.id, "hi")
