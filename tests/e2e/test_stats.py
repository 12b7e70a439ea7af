"""``/stats``: figures checked against tickets with known times, and who may ask."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from standalone.db.feedback import FeedbackRepository
from standalone.db.tickets import TicketRepository
from tests.e2e.closing_flow import answer_text, closed, make_cast
from tests.e2e.conftest import eventually, make_world
from tests.e2e.test_force_close import force, open_many

# Later than anything the test writes, so every row falls inside the window.
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


async def _responded(repo, guild_id, number):
    ticket = await repo.get(guild_id, number)
    return ticket if ticket and ticket.first_responder else None


async def _at(stack, tenant, guild_id, number, **times):
    """Put a ticket's moments where the test wants them."""
    await stack.backends.db.run(
        "UPDATE type::thing('ticket', [$t, $g, $n]) MERGE $times;",
        {"t": tenant, "g": guild_id, "n": number, "times": times},
    )


async def stats(discord, world, user, options=None):
    inter = await world.actor(discord, user).slash(
        "stats", options or {}, channel_id=world.support.id
    )
    return await answer_text(inter)


async def test_stats_match_tickets_with_known_times(discord, stack):
    world = make_world(discord, "stats")
    await stack.add(world)
    runner = await stack.start()
    cast = await make_cast(discord, stack, world)
    guild = str(world.guild.id)
    repo = TicketRepository(stack.backends.db, world.tenant)
    first, second, _ = await open_many(discord, stack, cast, 3)
    helper = world.actor(discord, cast.staff)
    # Staff answer tickets 1 and 2; the admin claims ticket 1, so it counts as the admin's.
    await helper.send_message(first, "Looking into it")
    await helper.send_message(second, "On it")
    for number in (1, 2):
        ticket = await eventually(lambda n=number: _responded(repo, guild, n))
        assert ticket.first_responder == str(cast.staff.id)
    claim = await world.actor(discord, cast.admin).slash("claim", {}, channel_id=first)
    assert "claimed" in await answer_text(claim)
    _, text = await force(discord, cast, cast.admin, {}, first)
    assert text.startswith("Closing ticket #1"), text
    await eventually(lambda: closed(stack, world, 1))
    await FeedbackRepository(stack.backends.db, world.tenant).save(
        guild, 1, str(cast.creator.id), 4, None
    )

    day = timedelta(days=1)
    await _at(
        stack,
        world.tenant,
        guild,
        1,
        created_at=NOW - 2 * day,
        first_response_at=NOW - 2 * day + timedelta(minutes=30),
        closed_at=NOW - 2 * day + timedelta(hours=3),
    )
    await _at(
        stack,
        world.tenant,
        guild,
        2,
        created_at=NOW - day,
        first_response_at=NOW - day + timedelta(hours=1),
    )
    await _at(stack, world.tenant, guild, 3, created_at=NOW - 40 * day)  # outside 30 days
    runner.apps[world.tenant].ctx.clock = lambda: NOW

    text = await stats(discord, world, cast.admin)
    assert text.splitlines() == [
        "**Ticket statistics: Whole server, last 30 days**",
        "Opened: 2 tickets",
        "Closed: 1 ticket",
        "First response: 45 minutes (average of 2 tickets)",
        "Time to close: 3 hours (over 1 ticket)",
        "Rating: 4.0 ★ (1 rating)",
    ], text
    wider = await stats(discord, world, cast.admin, {"days": 60})
    assert "Opened: 3 tickets" in wider.splitlines()

    # Ticket 1 is the admin's (claimed); ticket 2 the helper's (answered first, unclaimed).
    theirs = await stats(discord, world, cast.staff, {"member": cast.staff.id})
    assert theirs.splitlines()[1:6] == [
        "Opened: 1 ticket",
        "Closed: 0 tickets",
        "First response: 1 hour (over 1 ticket)",
        "Time to close: nothing yet",
        "Rating: nothing yet",
    ], theirs
    assert "those they claimed" in theirs.splitlines()[-1]
    admins = await stats(discord, world, cast.admin, {"member": cast.admin.id})
    assert "Closed: 1 ticket" in admins.splitlines() and "Rating: 4.0 ★ (1 rating)" in admins

    billing = await stats(discord, world, cast.admin, {"category": cast.other_category_key})
    assert billing.splitlines()[0] == "**Ticket statistics: Billing, last 30 days**"
    assert "Opened: 0 tickets" in billing.splitlines()


async def test_stats_are_for_staff_only_and_in_the_readers_language(discord, stack):
    world = make_world(discord, "statsperm")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(discord, stack, world)
    for who in (cast.creator, cast.other, cast.added):
        assert await stats(discord, world, who) == (
            "Only staff and admins can see ticket statistics."
        )
    # Staff of another category see their own category and the server, not this one.
    refused = await stats(discord, world, cast.other_staff, {"category": cast.category_key})
    assert refused.startswith("Only staff of ") and refused.endswith("can see its statistics.")
    assert "Billing" in await stats(
        discord, world, cast.other_staff, {"category": cast.other_category_key}
    )
    missing = await stats(discord, world, cast.admin, {"category": "Nope"})
    assert missing == "There is no ticket category called Nope."

    # A German-speaking admin reads the figures in German, durations included.
    asked = await world.actor(discord, cast.admin).slash("stats", {}, channel_id=world.support.id)
    await answer_text(asked)
    new_id = discord.world.ids.next()
    payload = copy.deepcopy(asked.payload)
    payload.update(id=str(new_id), token=discord.world.new_interaction_token(new_id), locale="de")
    await discord.dispatch(world.app.id, "INTERACTION_CREATE", payload)
    german = await answer_text(discord.interaction(new_id))
    assert german.splitlines()[:2] == [
        "**Ticket-Statistik: Ganzer Server, letzte 30 Tage**",
        "Eröffnet: 0 Tickets",
    ], german
