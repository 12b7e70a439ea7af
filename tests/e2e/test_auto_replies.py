"""Tags with a pattern answer matching messages: where the guild chose, once, never stalling."""

from __future__ import annotations

from emulation.discord import payloads
from standalone import keys
from standalone.db import tags as tags_module
from standalone.db.settings import SettingsRepository
from standalone.db.tags import TagRepository
from standalone.tickets.auto_replies import Matching
from tests.e2e.closing_flow import answer_text, open_for
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, open_ticket, post_panel
from tests.e2e.test_closing import start

RUNAWAY_S = 5.0
RUNAWAY_WAIT = TIMEOUT * 4
RUNAWAY = r"(.*){1,32000}[bc]"  # the save refuses it; rows from before (or imports) may have it


def replies_to(discord, world, channel_id: int, message_id: int) -> list:
    """The bot's messages in a channel that reply to one message."""
    return [
        m
        for m in bot_messages(discord, world, channel_id)
        if m.reference and str(m.reference.get("message_id")) == str(message_id)
    ]


async def settled(stack, world) -> bool:
    """Every event of the tenant handled and acknowledged."""
    stream = keys.events(world.tenant)
    return await stack.backends.coordination.streams.pending(stream, keys.WORKER_GROUP) == []


def handled(stack) -> int:
    return sum(worker.handled for worker in stack.runner.workers)


async def say_and_settle(discord, stack, cast, user, channel_id: int, text: str):
    """Post a message and wait until the bot handled it (and what it caused)."""
    before = handled(stack)
    message = await cast.world.actor(discord, user).send_message(channel_id, text)
    await eventually(lambda: _async(handled(stack) > before))
    await eventually(lambda: settled(stack, cast.world))
    return message


async def test_a_matching_message_in_a_ticket_gets_one_reply(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    repo = TagRepository(stack.backends.db, world.tenant)
    guild = str(world.guild.id)
    await repo.create(guild, "refund", "Refunds take 14 days.", r"\brefund")
    await repo.create(guild, "money", "Money questions go to billing.", r"refund|money")
    await repo.create(guild, "plain", "No pattern, never automatic.", None)
    channel = await open_for(discord, cast)

    asked = await cast.world.actor(discord, cast.creator).send_message(
        channel, "Hello, can I get a REFUND please?"
    )
    (reply,) = await eventually(
        lambda: _async(replies_to(discord, world, channel, asked.id)), TIMEOUT
    )
    # Only one tag answers, the longest pattern that matches.
    assert reply.embeds[0]["description"] == "Money questions go to billing."
    assert reply.allowed_mentions == {"parse": []}

    # Redelivered (a gateway replay, a worker that died before acknowledging): no second reply.
    data = payloads.event_data(discord.world, "MESSAGE_CREATE", asked)
    before = handled(stack)
    for _ in range(2):
        await discord.dispatch(world.app.id, "MESSAGE_CREATE", data)
    await eventually(lambda: _async(handled(stack) >= before + 2))
    await eventually(lambda: settled(stack, world))
    assert len(replies_to(discord, world, channel, asked.id)) == 1

    # No match, a bot's own message, and the bot itself: nothing.
    quiet = await say_and_settle(discord, stack, cast, cast.staff, channel, "all good now")
    assert replies_to(discord, world, channel, quiet.id) == []
    replies = [m for m in bot_messages(discord, world, channel) if m.reference]
    assert len(replies) == 1  # its own reply (which says "billing") did not trigger another

    # Outside tickets nothing, by default.
    outside = await say_and_settle(discord, stack, cast, cast.creator, world.support.id, "refund?")
    assert replies_to(discord, world, world.support.id, outside.id) == []


async def test_the_guild_chooses_the_channels(discord, stack):
    cast = await start(discord, stack)
    world = cast.world
    repo = TagRepository(stack.backends.db, world.tenant)
    await repo.create(str(world.guild.id), "refund", "Refunds take 14 days.", "refund")
    lobby = discord.add_channel(world.guild.id, name="lobby")
    channel = await open_for(discord, cast)
    admin = cast.admin

    async def auto(options):
        inter = await world.actor(discord, admin).slash(
            "tags auto-reply", options, channel_id=world.support.id
        )
        return await answer_text(inter)

    assert await auto({"channels": "#nowhere"}) == (
        "#nowhere: list channels as mentions (#help) or ids, or none."
    )
    assert await auto({"channels": "123456789"}) == "This server has no text channel 123456789."
    assert await auto({"channels": f"<#{lobby.id}>", "tickets": False}) == (
        f"Tags with a pattern reply only in: <#{lobby.id}>"
    )
    in_ticket = await say_and_settle(discord, stack, cast, cast.creator, channel, "refund")
    assert replies_to(discord, world, channel, in_ticket.id) == []
    in_lobby = await say_and_settle(discord, stack, cast, cast.creator, lobby.id, "refund")
    assert len(replies_to(discord, world, lobby.id, in_lobby.id)) == 1
    in_support = await say_and_settle(
        discord, stack, cast, cast.creator, world.support.id, "refund"
    )
    assert replies_to(discord, world, world.support.id, in_support.id) == []

    assert await auto({"channels": "none", "tickets": True}) == (
        "Tags with a pattern reply in ticket channels and in: -"
    )
    again = await say_and_settle(discord, stack, cast, cast.creator, channel, "refund")
    assert len(replies_to(discord, world, channel, again.id)) == 1
    assert await auto({"tickets": False}) == "Tags with a pattern do not reply anywhere now."


async def test_a_runaway_pattern_times_out_while_other_events_flow(discord, stack, monkeypatch):
    # Long enough that a ticket opens while the match still runs (the regex module
    # checks its timeout now and then: the match runs a few times this long).
    monkeypatch.setattr(tags_module, "MATCH_TIMEOUT_S", RUNAWAY_S)
    cast = await start(discord, stack)
    world = cast.world
    await SettingsRepository(stack.backends.db, world.tenant).update_category(
        str(world.guild.id), cast.category_key, member_limit=5
    )
    channel = await open_for(discord, cast)
    # Saved before save-time checks existed (or imported): the save would refuse it.
    await stack.backends.db.run(
        "CREATE tag CONTENT $data;",
        {
            "data": {
                "tenant": world.tenant,
                "guild_id": str(world.guild.id),
                "name": "runaway",
                "content": "never posted",
                "regex": RUNAWAY,
            }
        },
    )
    slow = await world.actor(discord, cast.creator).send_message(channel, "a" * 40)
    await eventually(lambda: _async(Matching.running > 0))

    # Meanwhile, in another channel of the same guild, a ticket opens...
    second = await open_ticket(discord, world, cast.panel, "while matching")
    assert second != channel
    # ...and the bot answers commands.
    listed = await world.actor(discord, cast.staff).slash(
        "tags list", {}, channel_id=world.support.id
    )
    assert (await answer_text(listed)).startswith("1 tag:")
    assert Matching.running > 0, "the slow match ended before the rest was done"

    # The match gives up: no reply, and the event is acknowledged, not retried forever.
    await eventually(lambda: _async(Matching.running == 0), RUNAWAY_WAIT)
    await eventually(lambda: settled(stack, world))
    assert replies_to(discord, world, channel, slow.id) == []


async def test_a_second_tenant_flows_while_a_pattern_runs_away(discord, stack, monkeypatch):
    monkeypatch.setattr(tags_module, "MATCH_TIMEOUT_S", RUNAWAY_S)
    alpha = make_world(discord, "alpha")
    beta = make_world(discord, "beta")
    await stack.add(alpha)
    await stack.add(beta)
    await stack.start()
    alpha_panel = await post_panel(discord, alpha)
    beta_panel = await post_panel(discord, beta)
    channel = await open_ticket(discord, alpha, alpha_panel, "alpha's ticket")
    await stack.backends.db.run(
        "CREATE tag CONTENT $data;",
        {
            "data": {
                "tenant": alpha.tenant,
                "guild_id": str(alpha.guild.id),
                "name": "runaway",
                "content": "never posted",
                "regex": RUNAWAY,
            }
        },
    )
    await alpha.actor(discord, alpha.member).send_message(channel, "a" * 40)
    await eventually(lambda: _async(Matching.running > 0))
    opened = await open_ticket(discord, beta, beta_panel, "beta's ticket")
    assert discord.channel(opened) is not None
    assert Matching.running > 0, "the slow match ended before beta's ticket opened"
    await eventually(lambda: _async(Matching.running == 0), RUNAWAY_WAIT)
    await eventually(lambda: settled(stack, alpha))


async def _async(value):
    return value
