"""Malformed events and foreign ids: a clear error, nothing written, the bot stays up."""

from __future__ import annotations

import pytest

from standalone import keys
from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import open_ticket, post_panel

MALFORMED = [
    {"type": 3, "id": "1"},  # a click without data, member, token, message
    {"type": 99, "id": "2", "token": "x"},  # an interaction type that does not exist
    {"type": 2, "id": "3", "token": "x", "application_id": "1", "data": "not an object"},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("payload", MALFORMED)
async def test_malformed_interaction_changes_nothing(discord, stack, caplog, payload):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    channels_before = {c.id for c in discord.channels(world.guild.id)}
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", payload)

    dead = keys.dead_letters(world.tenant)
    streams = stack.backends.coordination.streams
    await eventually(lambda: _length_is(streams, dead, 1))
    assert "malformed" in caplog.text or "unsupported interaction type" in caplog.text
    assert {c.id for c in discord.channels(world.guild.id)} == channels_before
    assert await TicketRepository(stack.backends.db, world.tenant).tickets() == []

    # The bot is still up and works.
    panel = await post_panel(discord, world)
    await open_ticket(discord, world, panel, "still working")


async def _length_is(streams, stream, n):
    return await streams.length(stream) == n


async def test_foreign_custom_id_gets_a_clear_answer(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    # A modal submit naming a category that does not exist.
    submit = await world.actor(discord, world.member).submit_modal(
        "topic:doesnotexist", {"topic": "hello there"}, channel_id=world.support.id
    )
    answer = await submit.response(timeout=TIMEOUT)
    assert "no longer exists" in answer["data"]["content"]
    # A custom id this bot never made.
    click = await world.actor(discord, world.member).submit_modal(
        "evil:../../x", {"topic": "hello there"}, channel_id=world.support.id
    )
    answer = await click.response(timeout=TIMEOUT)
    assert "not from this bot" in answer["data"]["content"]
    assert await TicketRepository(stack.backends.db, world.tenant).tickets() == []
    assert panel is not None


async def test_topic_too_short_is_refused_without_a_ticket(discord, stack):
    world = make_world(discord, "alpha")
    await stack.add(world)
    await stack.start()
    panel = await post_panel(discord, world)
    category = panel.components[0]["components"][0]["custom_id"].split(":")[1].split(".")[0]
    submit = await world.actor(discord, world.member).submit_modal(
        f"topic:{category}", {"topic": "hi"}, channel_id=world.support.id
    )
    answer = await submit.response(timeout=TIMEOUT)
    assert "5 to 4000 characters" in answer["data"]["content"]
    assert answer["data"]["flags"] & 64  # only the member sees it
    assert await TicketRepository(stack.backends.db, world.tenant).tickets() == []
