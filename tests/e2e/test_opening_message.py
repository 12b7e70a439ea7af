"""v4's live figures in the opening message: average response, resolution and rating."""

from __future__ import annotations

import pytest

from standalone import keys
from standalone.db.feedback import FeedbackRepository
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from tests.e2e.conftest import make_world
from tests.e2e.flow import bot_messages, button
from tests.e2e.test_opening import make_category, post, said

TEMPLATE = (
    "Hi {username}! We answer in {avgResponseTime}, solve it in {avgResolutionTime}, "
    "rated {avgRating}."
)


@pytest.fixture
async def world(discord, stack):
    built = make_world(discord, "alpha")
    await stack.add(built)
    await stack.start()
    return built


async def open_one(discord, world, panel) -> str:
    click = await world.actor(discord, world.member).click(panel.id, button(panel, "open:"))
    text = await said(click)
    assert text.startswith("Your ticket is open"), text
    channel_id = int(text.split("<#")[1].rstrip(">"))
    return str(bot_messages(discord, world, channel_id)[0].embeds[0]["description"])


async def test_placeholders_show_the_categorys_closed_tickets(discord, stack, world):
    await make_category(
        discord, world, require_topic=False, member_limit=5, opening_message=TEMPLATE
    )
    panel = await post(discord, world)
    first = await open_one(discord, world, panel)
    name = world.member.username
    assert first == (f"Hi {name}! We answer in unknown, solve it in unknown, rated unknown.")

    repo = TicketRepository(stack.backends.db, world.tenant)
    (ticket,) = await repo.tickets()
    guild = ticket.guild_id
    # Two closed tickets: answered after 10 and 30 minutes, closed after 2 and 4 hours.
    for number, (answered, closed, rating) in enumerate(((10, 120, 5), (30, 240, 2)), start=2):
        made = await repo.create(guild, ticket.category, ticket.creator_id, f"s{number}", None)
        await stack.backends.db.run(
            "UPDATE type::thing('ticket', [$t, $g, $n]) SET state = 'closed', "
            "first_response_at = created_at + <duration> $answered, "
            "closed_at = created_at + <duration> $closed;",
            {
                "t": world.tenant,
                "g": guild,
                "n": made.number,
                "answered": f"{answered}m",
                "closed": f"{closed}m",
            },
        )
        await FeedbackRepository(stack.backends.db, world.tenant).save(
            guild, made.number, ticket.creator_id, rating, None
        )
    # A rating in another category does not count.
    other = await repo.save_category(guild, "Elsewhere", None, [])
    made = await repo.create(guild, other.key, ticket.creator_id, "elsewhere", None)
    await FeedbackRepository(stack.backends.db, world.tenant).save(
        guild, made.number, ticket.creator_id, 1, None
    )
    # Cached for up to an hour (as v4): the new figures show once the hour is over.
    assert await open_one(discord, world, panel) == first
    figures = keys.category_figures(world.tenant, guild, ticket.category)
    await stack.backends.coordination.cache.delete(figures)
    second = await open_one(discord, world, panel)
    assert second == (f"Hi {name}! We answer in 20 minutes, solve it in 3 hours, rated 3.5.")

    # In the guild's language, durations and decimals included.
    await SettingsRepository(stack.backends.db, world.tenant).update_guild(guild, locale="de")
    await stack.backends.coordination.cache.delete(figures)
    german = await open_one(discord, world, panel)
    assert german == (f"Hi {name}! We answer in 20 Minuten, solve it in 3 Stunden, rated 3,5.")


async def test_unknown_placeholders_and_braces_stay_as_typed(discord, stack, world):
    typed = "{username} {nope} {0} {username.__class__} {{num}} {num"
    await make_category(discord, world, require_topic=False, member_limit=5, opening_message=typed)
    panel = await post(discord, world)
    text = await open_one(discord, world, panel)
    name = world.member.username
    assert text == f"{name} {{nope}} {{0}} {{username.__class__}} {{1}} {{num"
