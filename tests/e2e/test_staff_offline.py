""" "No staff online" in a new ticket: from presences, never bots, never without presence data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from standalone import keys
from standalone.db.archive import ArchiveRepository
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, open_ticket, post_panel, request_form, submit_topic

OFFLINE_TITLE = "No staff online"
NOON = datetime(2026, 11, 25, 12, tzinfo=UTC)


def with_presences(stack) -> None:
    gateway = msgspec.structs.replace(stack.config.gateway, presences=True)
    stack.config = msgspec.structs.replace(stack.config, gateway=gateway)


async def start(discord, stack, *, presences: bool = True):
    world = make_world(discord, "alpha")
    await stack.add(world)
    if presences:
        with_presences(stack)
    await stack.start()
    stack.runner.apps[world.tenant].ctx.clock = lambda: NOON
    if presences:
        # The gateway has read GUILD_CREATE (with its presence list) once this is set.
        key = keys.presence_generation(world.tenant, str(world.guild.id))
        await eventually(lambda: stack.backends.coordination.cache.get(key))
    return world


def notices(discord, world, channel_id: int) -> list[object]:
    return [
        m
        for m in bot_messages(discord, world, channel_id)
        if m.embeds and m.embeds[0].get("title") == OFFLINE_TITLE
    ]


async def handled(stack, world, message) -> None:
    """The notices run before the archive on each message: once archived, it was checked."""
    archive = ArchiveRepository(stack.backends.db, world.tenant)
    await eventually(lambda: archive.get(str(message.id)))


async def test_offline_staff_is_announced_once_an_hour(discord, stack):
    world = await start(discord, stack)
    channel = await open_ticket(discord, world, await post_panel(discord, world), "Help please")
    assert len(notices(discord, world, channel)) == 1
    member = world.actor(discord, world.member)
    await handled(stack, world, await member.send_message(channel, "anyone there?"))
    assert len(notices(discord, world, channel)) == 1  # not again within the hour

    app = stack.runner.apps[world.tenant]
    app.ctx.clock = lambda: NOON + timedelta(minutes=61)
    await handled(stack, world, await member.send_message(channel, "hello?"))
    assert len(notices(discord, world, channel)) == 2

    # Staff comes online: an hour later still, the member's message finds them.
    discord.set_presence(world.staff.id, "idle")
    key = keys.presence(world.tenant, str(world.guild.id), str(world.staff.id))
    await eventually(
        lambda: _is(stack.backends.coordination.cache.get(key), lambda v: v.endswith(b":idle"))
    )
    app.ctx.clock = lambda: NOON + timedelta(minutes=125)
    await handled(stack, world, await member.send_message(channel, "still there?"))
    assert len(notices(discord, world, channel)) == 2


async def _is(value, check) -> bool:
    got = await value
    return got is not None and check(got)


async def test_online_staff_means_no_notice_and_bots_do_not_count(discord, stack):
    world = await start(discord, stack)
    helper_bot = discord.world.add_user("helper-bot", bot=True)
    discord.add_member(world.guild.id, user_id=helper_bot.id, roles=[world.staff_role.id])
    discord.set_presence(helper_bot.id, "online")
    discord.set_presence(world.member.id, "online")  # not staff: does not count either
    await eventually(
        lambda: stack.backends.coordination.cache.get(
            keys.presence(world.tenant, str(world.guild.id), str(world.member.id))
        )
    )
    panel = await post_panel(discord, world)
    channel = await open_ticket(discord, world, panel, "Help please")
    assert len(notices(discord, world, channel)) == 1  # v4 #641 counted the bot

    discord.set_presence(world.staff.id, "dnd")
    key = keys.presence(world.tenant, str(world.guild.id), str(world.staff.id))
    await eventually(
        lambda: _is(stack.backends.coordination.cache.get(key), lambda v: v.endswith(b":dnd"))
    )
    form = await request_form(discord, world, panel, world.other)
    submit = await submit_topic(discord, world, form, world.other, "Mine too")
    answer = (await submit.followups(count=1, timeout=TIMEOUT))[-1]["content"]
    second = int(answer.split("<#")[1].rstrip(">"))
    assert len(bot_messages(discord, world, second)) == 1  # the opening message alone
    # Staff writing in the first ticket is not re-checked as a member would be.
    staff = world.actor(discord, world.staff)
    await handled(stack, world, await staff.send_message(channel, "on it"))
    assert len(notices(discord, world, channel)) == 1


async def test_without_presence_data_nothing_is_said(discord, stack):
    world = await start(discord, stack, presences=False)
    channel = await open_ticket(discord, world, await post_panel(discord, world), "Help please")
    member = world.actor(discord, world.member)
    await handled(stack, world, await member.send_message(channel, "anyone?"))
    assert notices(discord, world, channel) == []  # v4 #645 said "offline" without knowing
    # Nor is the member list fetched for a check that cannot conclude (it cost every message).
    members = f"/guilds/{world.guild.id}/members"
    assert not [path for method, path in discord.requests if path.startswith(members)]
