"""The bot's rotating activity: live figures, per-tenant settings, sent as op 3 by the shard."""

from __future__ import annotations

import msgspec
import pytest

from standalone import keys
from standalone.presence_config import Activity, PresenceConfig, TenantPresence
from tests.e2e.conftest import eventually, make_world
from tests.e2e.flow import open_ticket, post_panel


def shown(discord, world) -> list[tuple[str, int, str]]:
    """(status, activity type, text) of every presence the bot sent."""
    out = []
    for update in discord.presence_updates(world.app.id):
        (activity,) = update["activities"]
        text = activity.get("state") if activity["type"] == 4 else activity["name"]
        out.append((update["status"], activity["type"], text))
    return out


@pytest.fixture
async def worlds(discord, stack):
    alpha, beta = make_world(discord, "alpha"), make_world(discord, "beta")
    for world in (alpha, beta):
        await stack.add(world)
    stack.config = msgspec.structs.replace(
        stack.config,
        presence=PresenceConfig(
            activities=[
                Activity(name="{openTickets} open of {totalTickets} in {guilds}", type="watching"),
                Activity(name="{avgResolutionTime} to solve, rated {avgRating}", type="custom"),
                Activity(name="{unknown} stays"),
            ],
            interval_s=0.05,
            unchecked_interval=True,
            status="dnd",
            tenants={"beta": TenantPresence(activities=[Activity(name="beta")], status="idle")},
        ),
    )
    await stack.start()
    return alpha, beta


async def test_activities_rotate_with_live_figures(discord, stack, worlds):
    alpha, beta = worlds

    async def seen(world, wanted) -> bool:
        return wanted in shown(discord, world)

    await eventually(lambda: seen(alpha, ("dnd", 3, "0 open of 0 in 1")))
    await eventually(lambda: seen(alpha, ("dnd", 4, "unknown to solve, rated unknown")))
    await eventually(lambda: seen(alpha, ("dnd", 0, "{unknown} stays")))
    custom = next(
        u["activities"][0]
        for u in discord.presence_updates(alpha.app.id)
        if u["activities"][0]["type"] == 4
    )
    assert custom["name"] == "Custom Status"

    await open_ticket(discord, alpha, await post_panel(discord, alpha), "Help me")
    # The figures are cached a few minutes; once they are computed again, they show.
    await stack.backends.coordination.cache.delete(keys.bot_figures(alpha.tenant))
    await eventually(lambda: seen(alpha, ("dnd", 3, "1 open of 1 in 1")))

    # Another tenant rotates its own settings, with its own figures.
    await eventually(lambda: seen(beta, ("idle", 0, "beta")))
    assert {text for _, _, text in shown(discord, beta)} == {"beta"}
