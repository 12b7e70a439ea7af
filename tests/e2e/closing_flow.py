"""Steps of closing tickets as members and staff play them through the stand-in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulation.discord import FakeDiscord
from emulation.discord.models import Overwrite
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.db.timers import TimerRepository
from tests.e2e.conftest import TIMEOUT, Stack, World
from tests.e2e.flow import bot_messages, button, open_ticket, post_panel

VIEW_SEND = (1 << 10) | (1 << 11) | (1 << 16)


async def answer_text(inter: Any) -> str:
    """What the bot told the person: the response, or the followup after a defer."""
    response = await inter.response(timeout=TIMEOUT)
    if response["type"] == 4:
        return str(response["data"]["content"])
    assert response["type"] == 5, response
    followups = await inter.followups(count=1, timeout=TIMEOUT)
    return str(followups[-1]["content"])


@dataclass
class Cast:
    """Everyone who may try something on one ticket."""

    world: World
    creator: Any
    added: Any
    other: Any
    staff: Any  # holds this category's staff role only
    other_staff: Any  # staff of another category
    admin: Any  # Manage Server
    category_key: str
    other_category_key: str
    panel: Any

    def everyone(self) -> dict[str, Any]:
        return {
            "creator": self.creator,
            "added member": self.added,
            "other member": self.other,
            "staff": self.staff,
            "other staff": self.other_staff,
            "admin": self.admin,
        }


async def make_cast(discord: FakeDiscord, stack: Stack, world: World, **category: Any) -> Cast:
    """A panel whose category is handled by a plain staff role, plus every kind of person."""
    guild = world.guild.id
    helpers = discord.add_role(guild, name="Helpers")
    others = discord.add_role(guild, name="Billing")
    staff = discord.add_member(guild, f"hana-{world.tenant}", roles=[helpers.id])
    other_staff = discord.add_member(guild, f"bill-{world.tenant}", roles=[others.id])
    added = discord.add_member(guild, f"ada-{world.tenant}")
    panel = await post_panel(discord, world)
    key = button(panel, "open:").split(":")[1].split(".")[0]
    settings = SettingsRepository(stack.backends.db, world.tenant)
    await settings.update_category(str(guild), key, staff_roles=[str(helpers.id)], **category)
    other = await settings.create_category(str(guild), "Billing", staff_roles=[str(others.id)])
    return Cast(
        world,
        world.member,
        added,
        world.other,
        staff,
        other_staff,
        world.staff,
        key,
        other.key,
        panel,
    )


async def open_for(discord: FakeDiscord, cast: Cast, topic: str = "Printer on fire") -> int:
    """The creator opens a ticket; the added member is given access to its channel."""
    channel_id = await open_ticket(discord, cast.world, cast.panel, topic)
    channel = discord.channel(channel_id)
    assert channel is not None
    discord.world.set_overwrite(
        channel, Overwrite(id=cast.added.id, type=1, allow=VIEW_SEND, deny=0)
    )
    return channel_id


def opening_message(discord: FakeDiscord, world: World, channel_id: int) -> Any:
    return bot_messages(discord, world, channel_id)[0]


def request_message(discord: FakeDiscord, world: World, channel_id: int) -> Any | None:
    """The live close request (the one still offering Accept)."""
    for message in reversed(bot_messages(discord, world, channel_id)):
        for row in message.components:
            for component in row.get("components", []):
                if component.get("custom_id", "").startswith("closeyes:"):
                    return message
    return None


async def ticket_of(stack: Stack, world: World, channel_id: int) -> Any:
    ticket = await TicketRepository(stack.backends.db, world.tenant).by_channel(str(channel_id))
    assert ticket is not None
    return ticket


async def closed(stack: Stack, world: World, number: int) -> Any:
    repo = TicketRepository(stack.backends.db, world.tenant)
    current = await repo.get(str(world.guild.id), number)
    return current if current is not None and current.state == "closed" else None


async def no_timers(stack: Stack, tenant: str) -> bool:
    """True when the tenant has no timer left (each one fired and was dropped)."""
    return await TimerRepository(stack.backends.db, tenant).all() == []


def dms(discord: FakeDiscord, world: World, user: Any) -> list[Any]:
    """What the bot sent this user by DM."""
    channel = discord.world.dm_channel(world.app.bot_user.id, user.id)
    return bot_messages(discord, world, channel.id)
