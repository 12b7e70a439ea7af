""" "Pin message" and /topic with the Edit button, through the stand-in."""

from __future__ import annotations

import pytest

from tests.e2e.closing_flow import answer_text, closed
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, button
from tests.e2e.staff_flow import Desk, make_desk

CREATOR_OR_STAFF = "Only the member who opened this ticket or staff can do that."


@pytest.fixture
async def desk(discord, stack) -> Desk:
    world = make_world(discord, "pins")
    await stack.add(world)
    await stack.start()
    return await make_desk(discord, stack, world)


async def pin_as(discord, desk: Desk, user, channel_id: int, message_id: int) -> str:
    actor = desk.world.actor(discord, user)
    return await answer_text(await actor.message_command("Pin message", channel_id, message_id))


async def test_the_creator_or_staff_pin_messages_of_their_ticket(discord, desk: Desk):
    cast = desk.cast
    before = set(_pinned(discord, desk))  # the opening message, pinned when it opened
    said = await desk.world.actor(discord, cast.creator).send_message(
        desk.channel_id, "Serial number: 1234"
    )
    staff_says = await desk.world.actor(discord, cast.staff).send_message(
        desk.channel_id, "Try turning it off"
    )
    # Added members (staff of another category among them) see the ticket but may not pin.
    for user in (cast.added, cast.other_staff):
        assert "can now see" in await desk.says(discord, cast.staff, "add", {"member": user.id})
    for user in (cast.added, cast.other_staff):
        refusal = await pin_as(discord, desk, user, desk.channel_id, said.id)
        assert refusal == CREATOR_OR_STAFF, refusal
    assert set(_pinned(discord, desk)) == before

    assert await pin_as(discord, desk, cast.creator, desk.channel_id, said.id) == "Message pinned."
    assert set(_pinned(discord, desk)) == before | {said.id}
    assert await pin_as(discord, desk, cast.staff, desk.channel_id, staff_says.id) == (
        "Message pinned."
    )
    # Pinning again changes nothing.
    assert await pin_as(discord, desk, cast.staff, desk.channel_id, said.id) == "Message pinned."
    wanted = before | {said.id, staff_says.id}
    assert set(_pinned(discord, desk)) == wanted
    ticket = await desk.ticket()
    assert sorted(ticket.pinned_message_ids) == sorted(str(m) for m in wanted)

    # A pin made by hand afterwards is on the record too once the ticket closes.
    by_hand = await desk.world.actor(discord, cast.creator).send_message(desk.channel_id, "log")
    discord.world.set_pinned(discord.world.messages[by_hand.id], True)
    closing = await desk.world.actor(discord, cast.admin).slash(
        "force-close", {}, channel_id=desk.channel_id
    )
    await closing.response(timeout=TIMEOUT)
    done = await eventually(lambda: closed(desk.stack, desk.world, ticket.number))
    assert sorted(done.pinned_message_ids) == sorted(str(m) for m in wanted | {by_hand.id})

    # Outside a ticket it is refused, even for an admin.
    public = await desk.world.actor(discord, cast.other).send_message(
        desk.world.support.id, "hello"
    )
    refusal = await pin_as(discord, desk, cast.admin, desk.world.support.id, public.id)
    assert refusal == "Messages can only be pinned with this inside a ticket."
    assert discord.messages(desk.world.support.id)[-1].pinned_at is None


def _pinned(discord, desk: Desk) -> list[int]:
    return [m.id for m in discord.messages(desk.channel_id) if m.pinned_at]


async def test_a_long_topic_is_kept_whole_and_shown_clipped(discord, desk: Desk):
    cast = desk.cast
    refusal = await desk.says(discord, cast.other_staff, "topic")
    assert refusal == CREATOR_OR_STAFF
    opened = await desk.world.actor(discord, cast.creator).slash(
        "topic", {}, channel_id=desk.channel_id
    )
    form = await opened.response(timeout=TIMEOUT)
    assert form["type"] == 9
    field = form["data"]["components"][0]["component"]
    assert field["value"] == "Printer on fire" and field["max_length"] == 4000
    long_topic = ("The printer on floor 3 is on fire again. " * 100)[:3900]
    submit = await desk.world.actor(discord, cast.creator).submit_modal(
        form["data"]["custom_id"], {"topic": long_topic}, channel_id=desk.channel_id
    )
    assert await answer_text(submit) == "Your changes are saved."
    ticket = await desk.ticket()
    assert long_topic not in ticket.topic  # encrypted at rest
    assert desk.stack.backends.cipher.decrypt(ticket.topic) == long_topic
    diff = bot_messages(discord, desk.world, desk.channel_id)[-1].embeds[0]
    assert diff["title"].endswith("edited the ticket")
    (change,) = diff["fields"]
    assert change["name"] == "Topic" and len(change["value"]) <= 1024
    assert "…" in change["value"]
    opening = discord.messages(desk.channel_id)[0]
    assert opening.embeds[1]["description"] == long_topic
    await eventually(lambda: _entries(discord, desk))

    # Staff use the Edit button; a topic too short is refused and nothing changes.
    edit = await desk.world.actor(discord, cast.staff).click(opening.id, button(opening, "edit:"))
    form = await edit.response(timeout=TIMEOUT)
    short = await desk.world.actor(discord, cast.staff).submit_modal(
        form["data"]["custom_id"], {"topic": "no"}, channel_id=desk.channel_id
    )
    assert await answer_text(short) == "The topic must be 5 to 4000 characters long."
    unchanged = await desk.world.actor(discord, cast.staff).submit_modal(
        form["data"]["custom_id"], {"topic": long_topic}, channel_id=desk.channel_id
    )
    assert await answer_text(unchanged) == "Nothing changed."
    assert desk.stack.backends.cipher.decrypt((await desk.ticket()).topic) == long_topic


async def _entries(discord, desk: Desk) -> bool:
    return len(desk.log_entries(discord)) >= 1
