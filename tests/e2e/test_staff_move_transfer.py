"""/move and /transfer through the stand-in: members and claims survive a move."""

from __future__ import annotations

import pytest

from standalone.db.tickets import TicketRepository
from standalone.tickets import ticket_edits
from tests.e2e.conftest import TIMEOUT, make_world
from tests.e2e.staff_flow import REFUSED_STAFF_ONLY, VIEW, Desk, crash_once_in, make_desk
from tests.e2e.test_opening_robustness import crash_once


@pytest.fixture
async def desk(discord, stack) -> Desk:
    world = make_world(discord, "moves")
    await stack.add(world)
    await stack.start()
    return await make_desk(discord, stack, world)


async def billing_parent(discord, desk: Desk):
    """Billing tickets go in a Discord category of their own."""
    parent = discord.add_channel(desk.world.guild.id, name="Billing tickets", type=4)
    await desk.settings.update_category(
        str(desk.world.guild.id), desk.cast.other_category_key, discord_category=str(parent.id)
    )
    return parent


async def test_a_move_keeps_added_members_and_the_claim(discord, desk: Desk):
    cast = desk.cast
    parent = await billing_parent(discord, desk)
    helpers = int(
        (await desk.settings.category(str(desk.world.guild.id), cast.category_key)).staff_roles[0]
    )
    billing = await desk.settings.category(str(desk.world.guild.id), cast.other_category_key)
    billing_role = int(billing.staff_roles[0])
    assert "can now see" in await desk.says(discord, cast.staff, "add", {"member": cast.added.id})
    assert "You claimed" in await desk.says(discord, cast.staff, "claim")

    for user in (cast.creator, cast.added, cast.other, cast.other_staff):
        refusal = await desk.says(discord, user, "move", {"category": cast.other_category_key})
        assert refusal == REFUSED_STAFF_ONLY, refusal
    assert (await desk.ticket()).category == cast.category_key

    moved = await desk.says(discord, cast.staff, "move", {"category": "billing"})
    assert moved == "The ticket is now in Billing.", moved
    ticket = await desk.ticket()
    assert ticket.category == cast.other_category_key
    assert ticket.claimed_by == str(cast.staff.id)
    assert ticket.added_members == [str(cast.added.id)]
    channel = discord.channel(desk.channel_id)
    assert channel.parent_id == parent.id
    assert desk.overwrite(discord, helpers) is None
    # Claimed: Billing's staff are kept out, the claimer and members keep their access.
    assert desk.overwrite(discord, billing_role).deny & VIEW
    assert not desk.sees(discord, cast.other_staff)
    for user in (cast.staff, cast.added, cast.creator):
        assert desk.sees(discord, user), user
    assert f"<@{cast.staff.id}> moved this ticket to Billing." in desk.notices(discord)

    # The claimer is no longer staff of the ticket's category; Billing's staff are.
    assert "already in Billing" in await desk.says(
        discord, cast.other_staff, "move", {"category": "Billing"}
    )
    assert "no longer claimed" in await desk.says(discord, cast.other_staff, "release")
    assert desk.sees(discord, cast.other_staff)


async def test_bad_categories_are_refused_and_typed_text_is_no_pattern(discord, desk: Desk):
    cast = desk.cast
    admin = desk.world.actor(discord, cast.admin)
    for typed in ("Nope", ".*", "Bil+ing"):
        refusal = await desk.says(discord, cast.admin, "move", {"category": typed})
        assert "There is no ticket category called" in refusal, (typed, refusal)
    assert "already in Support" in await desk.says(
        discord, cast.admin, "move", {"category": "support"}
    )

    suggest = await admin.autocomplete(
        "move", {"category": "BIL"}, focused="category", channel_id=desk.channel_id
    )
    choices = (await suggest.response(timeout=TIMEOUT))["data"]["choices"]
    assert [c["value"] for c in choices] == [cast.other_category_key]
    weird = await admin.autocomplete(
        "move", {"category": ".*"}, focused="category", channel_id=desk.channel_id
    )
    assert (await weird.response(timeout=TIMEOUT))["data"]["choices"] == []

    # A thread category cannot take a channel ticket.
    await desk.settings.update_category(
        str(desk.world.guild.id), cast.other_category_key, mode="thread"
    )
    assert "cannot be moved" in await desk.says(
        discord, cast.admin, "move", {"category": "Billing"}
    )
    # A full category cannot take another ticket.
    guild = str(desk.world.guild.id)
    await desk.settings.update_category(
        guild, cast.other_category_key, mode="channel", total_limit=1
    )
    other = await desk.repo.create(guild, cast.other_category_key, str(cast.other.id), "b1", None)
    await desk.repo.mark_open(guild, other.number, str(desk.world.support.id), None)
    assert "reached its limit" in await desk.says(
        discord, cast.admin, "move", {"category": "Billing"}
    )
    assert (await desk.ticket()).category == cast.category_key


async def test_a_transfer_moves_the_creators_access(discord, desk: Desk):
    cast = desk.cast
    for user in (cast.creator, cast.other, cast.other_staff):
        refusal = await desk.says(discord, user, "transfer", {"member": cast.other.id})
        assert refusal == REFUSED_STAFF_ONLY, refusal
    assert "already owns" in await desk.says(
        discord, cast.staff, "transfer", {"member": cast.creator.id}
    )
    assert "can now see" in await desk.says(discord, cast.staff, "add", {"member": cast.other.id})

    given = await desk.says(discord, cast.staff, "transfer", {"member": cast.other.id})
    assert given == f"The ticket now belongs to <@{cast.other.id}>."
    ticket = await desk.ticket()
    assert ticket.creator_id == str(cast.other.id)
    assert ticket.added_members == []  # the new owner is no longer an added member
    assert desk.sees(discord, cast.other)
    assert not desk.sees(discord, cast.creator)
    assert desk.overwrite(discord, cast.creator.id) is None
    # The new owner is the creator now: they cannot be removed, the old one can be added.
    assert "cannot be removed" in await desk.says(
        discord, cast.staff, "remove", {"member": cast.other.id}
    )
    assert "can now see" in await desk.says(discord, cast.admin, "add", {"member": cast.creator.id})


async def test_a_redelivered_transfer_changes_hands_once(discord, desk: Desk, monkeypatch):
    cast = desk.cast
    crashed = crash_once(monkeypatch, TicketRepository, "update_fields")
    given = await desk.says(discord, cast.admin, "transfer", {"member": cast.added.id})
    assert given == f"The ticket now belongs to <@{cast.added.id}>."
    assert crashed.is_set()
    assert (await desk.ticket()).creator_id == str(cast.added.id)
    notice = (
        f"<@{cast.admin.id}> gave this ticket to <@{cast.added.id}> "
        f"(it was opened by <@{cast.creator.id}>)."
    )
    assert desk.notices(discord).count(notice) == 1
    assert desk.sees(discord, cast.added) and not desk.sees(discord, cast.creator)


async def test_a_move_redelivered_after_it_was_saved_finishes_it(discord, desk: Desk, monkeypatch):
    cast = desk.cast
    parent = await billing_parent(discord, desk)
    crashed = crash_once_in(monkeypatch, ticket_edits, "ticket_updated")
    moved = await desk.says(discord, cast.staff, "move", {"category": "Billing"})
    assert moved == "The ticket is now in Billing.", moved
    assert crashed.is_set()
    assert (await desk.ticket()).category == cast.other_category_key
    assert discord.channel(desk.channel_id).parent_id == parent.id
    assert desk.notices(discord).count(f"<@{cast.staff.id}> moved this ticket to Billing.") == 1
    assert desk.sees(discord, cast.other_staff) and not desk.sees(discord, cast.staff)
