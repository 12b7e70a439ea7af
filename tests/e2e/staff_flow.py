"""A ticket, everyone who may try a staff tool on it, and what the stand-in shows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from emulation.discord import FakeDiscord
from emulation.discord.models import Overwrite
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from tests.e2e.closing_flow import Cast, answer_text, make_cast
from tests.e2e.conftest import Stack, World
from tests.e2e.flow import bot_messages, open_ticket

VIEW = 1 << 10
REFUSED_STAFF_ONLY = "Only staff of Support tickets or an admin can do that."


@dataclass
class Desk:
    """One open channel ticket of the creator, with a log channel, and its cast."""

    cast: Cast
    stack: Stack
    channel_id: int
    log_channel: Any
    settings: SettingsRepository
    repo: TicketRepository

    @property
    def world(self) -> World:
        return self.cast.world

    async def ticket(self) -> Any:
        ticket = await self.repo.by_channel(str(self.channel_id))
        assert ticket is not None
        return ticket

    async def says(
        self, discord: FakeDiscord, user: Any, command: str, options: dict[str, Any] | None = None
    ) -> str:
        """What the bot answers ``user`` running ``/command`` inside the ticket."""
        actor = self.world.actor(discord, user)
        inter = await actor.slash(command, options or {}, channel_id=self.channel_id)
        return await answer_text(inter)

    def overwrite(self, discord: FakeDiscord, target_id: int) -> Overwrite | None:
        channel = discord.channel(self.channel_id)
        assert channel is not None
        return next((o for o in channel.permission_overwrites if o.id == target_id), None)

    def sees(self, discord: FakeDiscord, user: Any) -> bool:
        guild = self.world.guild.id
        return bool(discord.member_permissions(guild, user.id, self.channel_id) & VIEW)

    def notices(self, discord: FakeDiscord) -> list[str]:
        return [m.content for m in bot_messages(discord, self.world, self.channel_id)]

    def log_entries(self, discord: FakeDiscord) -> list[Any]:
        return bot_messages(discord, self.world, self.log_channel.id)


async def make_desk(discord: FakeDiscord, stack: Stack, world: World, **category: Any) -> Desk:
    cast = await make_cast(discord, stack, world, **category)
    settings = SettingsRepository(stack.backends.db, world.tenant)
    log_channel = discord.add_channel(world.guild.id, name="ticket-log")
    await settings.update_guild(str(world.guild.id), log_channel=str(log_channel.id))
    channel_id = await open_ticket(discord, world, cast.panel, "Printer on fire")
    repo = TicketRepository(stack.backends.db, world.tenant)
    return Desk(cast, stack, channel_id, log_channel, settings, repo)


def crash_once_in(monkeypatch: Any, module: Any, name: str) -> asyncio.Event:
    """Make the function ``module.name`` fail the first time, as if the process died there."""
    original = getattr(module, name)
    crashed = asyncio.Event()

    async def failing(*args: Any, **kwargs: Any) -> Any:
        if not crashed.is_set():
            crashed.set()
            raise ConnectionError(f"went away during {name}")
        return await original(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return crashed
