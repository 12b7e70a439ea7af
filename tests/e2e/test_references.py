"""References: /new with an earlier ticket, "Create ticket from message", through the stand-in."""

from __future__ import annotations

import pytest

from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import TIMEOUT, eventually, make_world
from tests.e2e.flow import bot_messages, button, components
from tests.e2e.test_opening import _closed, make_category, said


@pytest.fixture
async def world(discord, stack):
    built = make_world(discord, "alpha")
    await stack.add(built)
    await stack.start()
    return built


async def closed_ticket(discord, stack, world, user, topic: str):
    """``user`` opens a ticket with ``topic`` by /new; staff force-closes it (archived)."""
    opened = await world.actor(discord, user).slash("new", {}, channel_id=world.support.id)
    form = await opened.response(timeout=TIMEOUT)
    assert form["type"] == 9, form
    submit = await world.actor(discord, user).submit_modal(
        form["data"]["custom_id"], {"topic": topic}, channel_id=world.support.id
    )
    text = (await submit.followups(count=1, timeout=TIMEOUT))[-1]["content"]
    channel = int(text.split("<#")[1].rstrip(">"))
    repo = TicketRepository(stack.backends.db, world.tenant)
    ticket = await repo.by_channel(str(channel))
    await said(await world.actor(discord, world.staff).slash("force-close", {}, channel_id=channel))
    return await eventually(lambda: _closed(repo, ticket.number))


async def test_a_ticket_reference_shows_topic_date_and_a_transcript_button(discord, stack, world):
    await make_category(discord, world, member_limit=5)
    earlier = await closed_ticket(discord, stack, world, world.member, "Printer on fire")
    assert earlier.transcript_key is not None
    member = world.actor(discord, world.member)
    again = await member.slash("new", {"references": "#1"}, channel_id=world.support.id)
    form = await again.response(timeout=TIMEOUT)
    assert form["data"]["custom_id"].endswith(".t1")  # the reference rides on the form
    submit = await member.submit_modal(
        form["data"]["custom_id"], {"topic": "Still smoking"}, channel_id=world.support.id
    )
    text = (await submit.followups(count=1, timeout=TIMEOUT))[-1]["content"]
    channel = int(text.split("<#")[1].rstrip(">"))
    opening = bot_messages(discord, world, channel)[0]
    reference = opening.embeds[-1]
    assert reference["title"] == "Refers to ticket #1"
    assert reference["description"] == "Printer on fire"  # decrypted
    opened = int(earlier.created_at.timestamp())
    assert {"name": "Opened", "value": f"<t:{opened}:D>", "inline": True} in reference["fields"]
    transcript = button(opening, "transcript:")
    assert transcript == f"transcript:{world.guild.id}.1"
    got = await member.click(opening.id, transcript)
    sent = (await got.followups(count=1, timeout=TIMEOUT))[-1]
    assert sorted(a["filename"] for a in sent["attachments"]) == ["ticket-1.html", "ticket-1.txt"]


async def test_only_ones_own_tickets_or_staffs_are_referred_to(discord, stack, world):
    await make_category(discord, world, require_topic=False, member_limit=5)
    await closed_ticket_no_form(discord, stack, world, world.member)
    other = world.actor(discord, world.other)
    for typed, refusal in [
        ("1", "ticket #1 is not one of them"),
        ("#99", "There is no ticket #99 in this server"),
        ("(.*", "(.* is not a ticket number"),
    ]:
        assert refusal in await said(
            await other.slash("new", {"references": typed}, channel_id=world.support.id)
        ), typed
    # A made-up form custom id is refused just the same.
    category = (await TicketRepository(stack.backends.db, world.tenant).tickets())[0].category
    forged = await other.submit_modal(
        f"topic:{category}.t1", {"topic": "sneaky"}, channel_id=world.support.id
    )
    assert "ticket #1 is not one of them" in await said(forged)
    assert len(await TicketRepository(stack.backends.db, world.tenant).tickets()) == 1
    # Staff handles the member's tickets and may refer to them.
    staff = await world.actor(discord, world.staff).slash(
        "new", {"references": "1"}, channel_id=world.support.id
    )
    assert (await said(staff)).startswith("Your ticket is open")
    second = await TicketRepository(stack.backends.db, world.tenant).get(str(world.guild.id), 2)
    assert second.references_ticket == 1 and second.creator_id == str(world.staff.id)


async def closed_ticket_no_form(discord, stack, world, user):
    opened = await world.actor(discord, user).slash("new", {}, channel_id=world.support.id)
    text = await said(opened)
    channel = int(text.split("<#")[1].rstrip(">"))
    repo = TicketRepository(stack.backends.db, world.tenant)
    ticket = await repo.by_channel(str(channel))
    await said(await world.actor(discord, world.staff).slash("force-close", {}, channel_id=channel))
    return await eventually(lambda: _closed(repo, ticket.number))


async def test_autocomplete_lists_closed_tickets_as_plain_text(discord, stack, world):
    await make_category(discord, world, require_topic=False, member_limit=5)
    await closed_ticket_no_form(discord, stack, world, world.member)
    member = world.actor(discord, world.member)
    assert (await said(await member.slash("new", {}, channel_id=world.support.id))).startswith(
        "Your ticket is open"
    )  # ticket #2, still open: not offered

    async def suggested(typed: str) -> list[str]:
        asked = await member.autocomplete("new", {"references": typed}, focused="references")
        return [c["value"] for c in (await asked.response(timeout=TIMEOUT))["data"]["choices"]]

    assert await suggested("") == ["1"]
    assert await suggested("(.*") == []  # a pattern is text: it matches nothing here
    assert await suggested("#1") == ["1"]
    other = world.actor(discord, world.other)
    asked = await other.autocomplete("new", {"references": ""}, focused="references")
    assert (await asked.response(timeout=TIMEOUT))["data"]["choices"] == []


async def test_a_message_reference_quotes_links_and_dates_it(discord, stack, world):
    await make_category(discord, world, require_topic=False)
    long_text = "The lamp flickers. " * 80  # 1520 characters
    original = await world.actor(discord, world.other).send_message(world.support.id, long_text)
    made = await world.actor(discord, world.member).message_command(
        "Create ticket from message", world.support.id, original.id
    )
    assert (await said(made)).startswith("Your ticket is open")
    (ticket,) = await TicketRepository(stack.backends.db, world.tenant).tickets()
    reference = bot_messages(discord, world, int(ticket.channel_id))[0].embeds[-1]
    assert reference["url"] == (
        f"https://discord.com/channels/{world.guild.id}/{world.support.id}/{original.id}"
    )
    assert reference["description"] == long_text[:1000]
    assert world.other.username in reference["author"]["name"]
    (sent,) = reference["fields"]
    assert sent["value"].startswith("<t:") and ":R>" in sent["value"]
    assert f"<@{world.other.id}>" in sent["value"]


@pytest.mark.parametrize("kind", ["system", "empty"])
async def test_system_and_empty_messages_are_not_referred_to(discord, stack, world, kind):
    await make_category(discord, world, require_topic=False)
    channel = discord.channel(world.support.id)
    if kind == "system":  # "X pinned a message", as Discord posts it
        target = discord.world.create_message(channel, world.other.id, content="", message_type=6)
    else:
        target = await world.actor(discord, world.other).send_message(world.support.id, "   ")
    made = await world.actor(discord, world.member).message_command(
        "Create ticket from message", world.support.id, target.id
    )
    assert (await said(made)).startswith("Your ticket is open")  # opened, without reference
    repo = TicketRepository(stack.backends.db, world.tenant)
    (ticket,) = await repo.tickets()
    assert ticket.references_message is None
    assert [m for m in await repo.archived(ticket) if m.external] == []
    opening = bot_messages(discord, world, int(ticket.channel_id))[0]
    assert all(e.get("title") != "Refers to a message" for e in opening.embeds)
    assert not any(c.get("custom_id", "").startswith("transcript:") for c in components(opening))
