"""/add and /remove through the stand-in: who may, and what each does to the channel."""

from __future__ import annotations

import pytest

from standalone.db.tickets import TicketRepository
from standalone.tickets import ticket_edits
from tests.e2e.closing_flow import answer_text, make_cast
from tests.e2e.conftest import eventually, make_world
from tests.e2e.staff_flow import REFUSED_STAFF_ONLY, Desk, crash_once_in, make_desk
from tests.e2e.test_opening_robustness import crash_once
from tests.e2e.test_thread_tickets import thread_ticket


@pytest.fixture
async def desk(discord, stack) -> Desk:
    world = make_world(discord, "members")
    await stack.add(world)
    await stack.start()
    return await make_desk(discord, stack, world)


async def test_only_staff_of_the_category_or_an_admin_may_add_or_remove(discord, desk: Desk):
    cast = desk.cast
    guest = cast.added
    for user in (cast.creator, cast.other, cast.other_staff):
        refusal = await desk.says(discord, user, "add", {"member": guest.id})
        assert refusal == REFUSED_STAFF_ONLY, refusal
    assert not desk.sees(discord, guest)
    assert (await desk.ticket()).added_members == []

    assert await desk.says(discord, cast.staff, "add", {"member": guest.id}) == (
        f"<@{guest.id}> can now see this ticket."
    )
    assert desk.sees(discord, guest)
    assert desk.overwrite(discord, guest.id).type == 1
    assert (await desk.ticket()).added_members == [str(guest.id)]
    assert (
        desk.notices(discord).count(f"<@{cast.staff.id}> added <@{guest.id}> to this ticket.") == 1
    )
    await eventually(lambda: _entries(discord, desk, 1))

    for user in (cast.creator, cast.other, cast.other_staff, guest):
        refusal = await desk.says(discord, user, "remove", {"member": guest.id})
        assert refusal == REFUSED_STAFF_ONLY, refusal
    assert desk.sees(discord, guest)

    # An admin may remove (and add) too.
    assert "no longer has access" in await desk.says(
        discord, cast.admin, "remove", {"member": guest.id}
    )
    assert not desk.sees(discord, guest)
    assert desk.overwrite(discord, guest.id) is None
    assert (await desk.ticket()).added_members == []
    assert f"<@{cast.admin.id}> removed <@{guest.id}> from this ticket." in desk.notices(discord)
    await eventually(lambda: _entries(discord, desk, 2))


async def test_each_bad_add_or_remove_is_explained(discord, desk: Desk):
    cast = desk.cast
    staff = cast.staff
    assert "opened this ticket and already has access" in await desk.says(
        discord, staff, "add", {"member": cast.creator.id}
    )
    assert "cannot be removed" in await desk.says(
        discord, staff, "remove", {"member": cast.creator.id}
    )
    assert "was not added to this ticket" in await desk.says(
        discord, staff, "remove", {"member": cast.other.id}
    )
    bot = desk.world.app.bot_user
    assert "Bots cannot be added" in await desk.says(discord, staff, "add", {"member": bot.id})
    stranger = discord.world.add_user("stranger")
    assert "is not a member of this server" in await desk.says(
        discord, staff, "add", {"member": stranger.id}
    )
    assert "can now see" in await desk.says(discord, staff, "add", {"member": cast.other.id})
    assert "already in this ticket" in await desk.says(
        discord, staff, "add", {"member": cast.other.id}
    )
    assert (await desk.ticket()).added_members == [str(cast.other.id)]

    # Outside a ticket, and in a closed one.
    actor = desk.world.actor(discord, cast.admin)
    outside = await actor.slash("add", {"member": cast.other.id}, channel_id=desk.world.support.id)
    assert await answer_text(outside) == "This channel is not a ticket."
    ticket = await desk.ticket()
    await desk.repo.update_fields(ticket, state="closing")
    assert "being closed" in await desk.says(discord, staff, "add", {"member": cast.added.id})
    assert not desk.sees(discord, cast.added)


@pytest.mark.parametrize("step", ["update_fields", "ticket_updated"])
async def test_a_redelivered_add_grants_once_and_logs_once(discord, desk: Desk, monkeypatch, step):
    cast = desk.cast
    if step == "update_fields":  # before the record is saved
        crashed = crash_once(monkeypatch, TicketRepository, step)
    else:  # after it was saved, before the log entry and the answer
        crashed = crash_once_in(monkeypatch, ticket_edits, step)
    answer = await desk.says(discord, cast.staff, "add", {"member": cast.added.id})
    assert answer == f"<@{cast.added.id}> can now see this ticket."
    assert crashed.is_set()
    assert (await desk.ticket()).added_members == [str(cast.added.id)]
    notice = f"<@{cast.staff.id}> added <@{cast.added.id}> to this ticket."
    assert desk.notices(discord).count(notice) == 1
    assert desk.sees(discord, cast.added)
    # The log entry compares with the ticket before the first try, so it has the change.
    (entry,) = await eventually(lambda: _log(discord, desk))
    assert str(cast.added.id) in str(entry.embeds)


async def _log(discord, desk: Desk) -> list:
    # The log also holds the ticket's "opened" entry; only entries naming the added member count.
    added = str(desk.cast.added.id)
    return [entry for entry in desk.log_entries(discord) if added in str(entry.embeds)]


async def test_thread_tickets_add_and_remove_thread_members(discord, stack):
    world = make_world(discord, "threadmembers")
    await stack.add(world)
    await stack.start()
    cast = await make_cast(discord, stack, world, mode="thread")
    _, thread_id = await thread_ticket(discord, stack, cast)
    actor = world.actor(discord, cast.staff)
    added = await actor.slash("add", {"member": cast.added.id}, channel_id=thread_id)
    assert "can now see" in await answer_text(added)
    assert cast.added.id in discord.thread_members(thread_id)
    refused = await world.actor(discord, cast.creator).slash(
        "remove", {"member": cast.added.id}, channel_id=thread_id
    )
    assert "Only staff of" in await answer_text(refused)
    removed = await actor.slash("remove", {"member": cast.added.id}, channel_id=thread_id)
    assert "no longer has access" in await answer_text(removed)
    assert cast.added.id not in discord.thread_members(thread_id)
    assert cast.creator.id in discord.thread_members(thread_id)


async def _entries(discord, desk: Desk, count: int) -> bool:
    return len(desk.log_entries(discord)) >= count
