"""Working hours through the stand-in: /hours with clear refusals, and the "back at" notice."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from standalone import keys
from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import make_world
from tests.e2e.flow import bot_messages, button
from tests.e2e.test_opening import admin_says, make_category, post, said, settings

BERLIN = ZoneInfo("Europe/Berlin")
SATURDAY_NOON = datetime(2026, 11, 28, 12, tzinfo=BERLIN).astimezone(UTC)
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, tzinfo=BERLIN).astimezone(UTC)
MONDAY_NINE = datetime(2026, 11, 30, 9, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
async def world(discord, stack):
    built = make_world(discord, "alpha")
    await stack.add(built)
    await stack.start()
    return built


def set_clock(stack, world, now: datetime) -> None:
    stack.runner.apps[world.tenant].ctx.clock = lambda: now


async def open_one(discord, world, panel) -> int:
    click = await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    text = await said(click)
    assert text.startswith("Your ticket is open"), text
    return int(text.split("<#")[1].rstrip(">"))


async def test_admins_set_hours_and_get_clear_errors(discord, stack, world):
    repo = await settings(stack, world)
    guild = str(world.guild.id)
    for options, error in [
        ({"timezone": "Mars/Olympus", "weekdays": "09:00-17:00"}, "not a time zone I know"),
        ({"timezone": "Europe/Berlin", "weekdays": "09:00-25:00"}, "25:00 is not a time of day"),
        (
            {"timezone": "Europe/Berlin", "weekdays": "09:00-17:00", "saturday": "14:00-10:00"},
            "closing time must come after the opening time",
        ),
        ({"timezone": "Europe/Berlin"}, "At least one day needs working hours"),
    ]:
        text = await admin_says(discord, world, "hours set", options)
        assert error in text, (options, text)
    assert (await repo.guild(guild)).working_hours is None  # nothing half-saved

    text = await admin_says(
        discord,
        world,
        "hours set",
        {"timezone": "Europe/Berlin", "weekdays": "09:00-17:00", "saturday": "10:00-13:00"},
    )
    assert text.startswith("Working hours saved for this server:"), text
    assert "Saturday: 10:00-13:00" in text and "Sunday: day off" in text
    assert (await repo.guild(guild)).working_hours == (
        "Europe/Berlin" + " 09:00-17:00" * 5 + " 10:00-13:00 off"
    )
    # A member without Manage Server is refused.
    refused = await said(
        await world.actor(discord, world.member).slash(
            "hours set", {"timezone": "UTC", "weekdays": "00:00-24:00"}, channel_id=world.support.id
        )
    )
    assert "Manage Server" in refused
    assert "Europe/Berlin" in await admin_says(discord, world, "hours show", {})
    cleared = await admin_says(discord, world, "hours clear", {})
    assert cleared.startswith("Working hours removed for this server")
    assert (await repo.guild(guild)).working_hours is None


async def test_a_ticket_opened_outside_hours_says_when_staff_is_back(discord, stack, world):
    await make_category(discord, world, require_topic=False, member_limit=5)
    text = await admin_says(
        discord, world, "hours set", {"timezone": "Europe/Berlin", "weekdays": "09:00-17:00"}
    )
    assert text.startswith("Working hours saved"), text
    panel = await post(discord, world)

    set_clock(stack, world, SATURDAY_NOON)
    channel = await open_one(discord, world, panel)
    _opening, notice = bot_messages(discord, world, channel)
    assert notice.embeds[0]["title"] == "We are not working right now"
    stamp = int(MONDAY_NINE.timestamp())  # across the weekend, not "Sunday"
    assert f"<t:{stamp}:R>" in notice.embeds[0]["description"]

    set_clock(stack, world, WEDNESDAY_NOON)
    channel = await open_one(discord, world, panel)
    assert len(bot_messages(discord, world, channel)) == 1  # working: no notice


async def test_a_category_keeps_its_own_hours(discord, stack, world):
    await make_category(discord, world, require_topic=False, member_limit=5)
    await admin_says(
        discord, world, "hours set", {"timezone": "Europe/Berlin", "weekdays": "09:00-17:00"}
    )
    text = await admin_says(
        discord,
        world,
        "hours set",
        {"timezone": "America/New_York", "saturday": "00:00-24:00", "category": "Billing"},
    )
    assert text.startswith("Working hours saved for the Billing category"), text
    unknown = await admin_says(
        discord,
        world,
        "hours set",
        {"timezone": "UTC", "weekdays": "09:00-10:00", "category": "Nope"},
    )
    assert "no ticket category called Nope" in unknown
    panel = await post(discord, world)
    set_clock(stack, world, SATURDAY_NOON)  # Saturday 06:00 in New York: Billing works
    channel = await open_one(discord, world, panel)
    assert len(bot_messages(discord, world, channel)) == 1


async def test_the_notice_is_posted_once_when_an_open_is_run_again(discord, stack, world):
    await make_category(discord, world, require_topic=False)
    await admin_says(
        discord, world, "hours set", {"timezone": "Europe/Berlin", "weekdays": "09:00-17:00"}
    )
    set_clock(stack, world, SATURDAY_NOON)
    channel = await open_one(discord, world, await post(discord, world))
    assert len(bot_messages(discord, world, channel)) == 2
    # A worker that died after posting ran it again, its mark lost with it.
    app = stack.runner.apps[world.tenant]
    await stack.backends.coordination.cache.delete(keys.hours_notice(world.tenant, str(channel)))
    ticket = await TicketRepository(stack.backends.db, world.tenant).by_channel(str(channel))
    category = await app.ctx.category_of(ticket)
    for _ in range(2):
        await app.features.opening.notices.after_open(ticket, category, channel)
    assert len(bot_messages(discord, world, channel)) == 2
