"""What every part of the ticket lifecycle works with, for one tenant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import disnake
from disnake.interactions.base import Interaction

from emulation.ports import Cache
from standalone.crypto import Cipher
from standalone.db.records import Category, GuildSettings, Ticket
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import TicketRepository
from standalone.db.timers import TimerRepository
from standalone.discord_bridge import StreamBot, member_role_ids
from standalone.i18n import Text, normalise
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import register_guild_locales
from storage.ports import ObjectStore


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


@dataclass
class TicketContext:
    """The tenant's bot, repositories, storage and secrets, shared by the features."""

    bot: StreamBot
    tickets: TicketRepository
    settings: SettingsRepository
    timers: TimerRepository
    store: ObjectStore
    cipher: Cipher
    cache: Cache
    clock: Callable[[], datetime] = field(default=utcnow)

    def __post_init__(self) -> None:
        register_guild_locales(self.bot, self.guild_locale)

    @property
    def tenant(self) -> str:
        """The tenant this context works for."""
        return self.tickets.tenant

    @property
    def bot_id(self) -> int:
        """The bot's own user id (known once logged in)."""
        assert self.bot.user is not None
        return self.bot.user.id

    async def ticket_here(self, inter: Interaction[Any]) -> Ticket:
        """The open ticket of the channel an interaction came from; refuses otherwise."""
        ticket = await self.tickets.by_channel(str(inter.channel_id))
        if ticket is None:
            raise TicketError(Text("common.not_a_ticket"))
        if ticket.state == "closed":
            raise TicketError(Text("common.ticket_closed"))
        return ticket

    async def category_of(self, ticket: Ticket) -> Category | None:
        """The ticket's category, None when it was deleted since."""
        return await self.settings.category(ticket.guild_id, ticket.category)

    async def guild_settings(self, guild_id: str) -> GuildSettings:
        """The settings of a guild."""
        return await self.settings.guild(guild_id)

    async def guild_locale(self, guild_id: str | int | None) -> str:
        """The locale a guild chose for what everyone in it reads (en-GB by default)."""
        if guild_id is None:
            return normalise(None)
        return normalise((await self.settings.guild(str(guild_id))).locale)

    async def find_bot_message(self, channel_id: int, custom_id: str) -> str | None:
        """A recent message of this bot with a given component, which an earlier try posted."""
        for message in await self.bot.http.logs_from(channel_id, 20):
            if str(message["author"]["id"]) != str(self.bot_id):
                continue
            rows = cast(list[dict[str, Any]], message.get("components") or [])
            for row in rows:
                for component in row.get("components") or []:
                    if component.get("custom_id") == custom_id:
                        return str(message["id"])
        return None


def effective_ms(category_value: int | None, guild_value: int | None) -> int | None:
    """A timing setting: the category's if set, else the guild's; 0 (or None) means off."""
    value = category_value if category_value is not None else guild_value
    return value or None


def is_admin(inter: Interaction[Any]) -> bool:
    """Manage Server or Administrator in the guild of the interaction."""
    return bool(inter.permissions.manage_guild or inter.permissions.administrator)


def is_staff(inter: Interaction[Any], category: Category | None) -> bool:
    """Admin, or holds a staff role of ``category``."""
    if is_admin(inter):
        return True
    staff = {int(role) for role in category.staff_roles} if category else set()
    return bool(staff & member_role_ids(inter.author))


def is_any_staff(inter: Interaction[Any], categories: list[Category]) -> bool:
    """Admin, or holds a staff role of any category of the guild."""
    return is_admin(inter) or any(is_staff(inter, c) for c in categories)


def mention_ok(user_ids: list[int]) -> disnake.AllowedMentions:
    """Ping exactly these users and nobody else."""
    return disnake.AllowedMentions(
        users=[disnake.Object(u) for u in user_ids], roles=False, everyone=False
    )
