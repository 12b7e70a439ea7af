"""/priority and /rename share Discord's two renames per ten minutes, and say so kindly."""

from __future__ import annotations

import pytest

from standalone.db.ticket_staff import TicketStaffRepository
from standalone.tickets import renaming
from tests.e2e.conftest import make_world
from tests.e2e.staff_flow import REFUSED_STAFF_ONLY, Desk, crash_once_in, make_desk
from tests.e2e.test_opening_robustness import crash_once

WAIT = "renamed twice in the last 10 minutes, which is all Discord allows; try again in"


@pytest.fixture
async def desk(discord, stack) -> Desk:
    world = make_world(discord, "renames")
    await stack.add(world)
    await stack.start()
    return await make_desk(discord, stack, world)


def name_of(discord, desk: Desk) -> str:
    return discord.channel(desk.channel_id).name


async def test_priority_and_rename_spend_one_budget(discord, desk: Desk):
    cast = desk.cast
    original = name_of(discord, desk)
    for user in (cast.creator, cast.other, cast.other_staff):
        assert await desk.says(discord, user, "priority", {"level": "high"}) == REFUSED_STAFF_ONLY
        assert await desk.says(discord, user, "rename", {"name": "mine"}) == REFUSED_STAFF_ONLY
    assert name_of(discord, desk) == original

    assert await desk.says(discord, cast.staff, "priority", {"level": "high"}) == (
        "Priority set to high."
    )
    assert name_of(discord, desk) == f"🔴{original}"
    assert (await desk.ticket()).priority == "high"
    assert "already high" in await desk.says(discord, cast.staff, "priority", {"level": "high"})

    renamed = await desk.says(discord, cast.admin, "rename", {"name": "Printer Fire"})
    assert renamed == "The channel is now called 🔴printer-fire."
    assert name_of(discord, desk) == "🔴printer-fire"
    assert "already has that name" in await desk.says(
        discord, cast.admin, "rename", {"name": "printer fire"}
    )

    # The third change is refused by the bot itself: Discord never sees it.
    for command, options in (("priority", {"level": "low"}), ("rename", {"name": "again"})):
        refusal = await desk.says(discord, cast.staff, command, options)
        assert WAIT in refusal and refusal.endswith("10 minutes."), refusal
    assert name_of(discord, desk) == "🔴printer-fire"
    assert (await desk.ticket()).priority == "high"
    assert discord.renames.count(desk.channel_id) == 2
    assert discord.renames.refused == 0
    notices = desk.notices(discord)
    assert f"<@{cast.staff.id}> set the priority to high." in notices
    assert f"<@{cast.admin.id}> renamed this ticket to 🔴printer-fire." in notices
    # The log channel shows the rename: the name is Discord's, not a field of the record.
    logged = [e for e in desk.log_entries(discord) if "#🔴printer-fire" in str(e.embeds)]
    assert len(logged) == 1, [e.embeds for e in desk.log_entries(discord)]


async def test_a_429_from_discord_is_answered_at_once_and_blocks_nothing_else(discord, desk: Desk):
    cast = desk.cast
    original = name_of(discord, desk)
    # Someone renamed the channel twice by hand: the bot's own count knows nothing of it.
    discord.renames.admit(desk.channel_id)
    discord.renames.admit(desk.channel_id)
    refusal = await desk.says(discord, cast.staff, "priority", {"level": "medium"})
    assert WAIT in refusal and "10 minutes" in refusal, refusal
    assert discord.renames.refused == 1
    assert name_of(discord, desk) == original
    assert (await desk.ticket()).priority is None
    # The bot remembers Discord's wait and does not ask again.
    assert WAIT in await desk.says(discord, cast.staff, "rename", {"name": "later"})
    assert discord.renames.refused == 1
    # Other edits of the channel go on: the rename limit did not block its bucket.
    parent = discord.add_channel(desk.world.guild.id, name="Billing tickets", type=4)
    await desk.settings.update_category(
        str(desk.world.guild.id), cast.other_category_key, discord_category=str(parent.id)
    )
    assert "now in Billing" in await desk.says(discord, cast.staff, "move", {"category": "Billing"})
    assert discord.channel(desk.channel_id).parent_id == parent.id


async def test_clearing_the_priority_and_a_redelivered_change(discord, desk: Desk, monkeypatch):
    cast = desk.cast
    original = name_of(discord, desk)
    crashed = crash_once(monkeypatch, TicketStaffRepository, "set_priority")
    assert await desk.says(discord, cast.staff, "priority", {"level": "low"}) == (
        "Priority set to low."
    )
    assert crashed.is_set()
    assert name_of(discord, desk) == f"🟢{original}"
    assert discord.renames.count(desk.channel_id) == 1  # the retry renamed nothing
    assert desk.notices(discord).count(f"<@{cast.staff.id}> set the priority to low.") == 1
    assert await desk.says(discord, cast.staff, "priority", {"level": "none"}) == (
        "Priority set to none."
    )
    assert name_of(discord, desk) == original
    assert (await desk.ticket()).priority is None
    assert "1 to 99 characters" in await desk.says(discord, cast.staff, "rename", {"name": "🔴"})


async def test_a_rename_redelivered_after_discord_renamed_finishes_it(
    discord, desk: Desk, monkeypatch
):
    cast = desk.cast
    crashed = crash_once_in(monkeypatch, renaming, "announce")
    renamed = await desk.says(discord, cast.staff, "rename", {"name": "printer"})
    assert renamed == "The channel is now called printer.", renamed
    assert crashed.is_set()
    assert name_of(discord, desk) == "printer"
    assert discord.renames.count(desk.channel_id) == 1  # the retry spent no rename
    assert desk.notices(discord).count(f"<@{cast.staff.id}> renamed this ticket to printer.") == 1
