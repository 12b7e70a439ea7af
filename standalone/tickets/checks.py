"""Whether a member may open a ticket in a category, with a clear reason when not.

The order follows Discord Tickets v4: blocked, required roles, a full Discord
category, the category's total, the member's own limit, then the cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import disnake

from standalone.db.records import Category, GuildSettings
from standalone.discord_bridge import member_role_ids
from standalone.i18n import Text
from standalone.services.channel_parents import channels_in
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError

MAX_CHANNELS_PER_CATEGORY = 50  # Discord's own limit


@dataclass(frozen=True)
class Opener:
    """The facts about the member opening a ticket that the checks need."""

    user_id: int
    role_ids: frozenset[int]
    timed_out_until: datetime | None = None

    @classmethod
    def of(cls, member: disnake.Member | disnake.User) -> Opener:
        """From an interaction's author."""
        timeout = member.current_timeout if isinstance(member, disnake.Member) else None
        return cls(member.id, frozenset(member_role_ids(member)), timeout)


def human_duration(delta: timedelta) -> Text:
    """``2 hours 5 minutes``-style text for a wait, at most two units."""
    seconds = max(1, int(delta.total_seconds()))
    units = [("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1)]
    parts: list[Text] = []
    for name, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(Text(f"checks.{name}", count=count))
        if len(parts) == 2:
            break
    if len(parts) == 1:
        return parts[0]
    return Text("checks.two_units", first=parts[0], second=parts[1])


def category_full(category: Category) -> TicketError:
    """The refusal when a category has as many open tickets as its total limit."""
    return TicketError(
        Text("checks.category_full", category=category.name, limit=category.total_limit)
    )


async def check_can_open(
    ctx: TicketContext, guild_id: int, opener: Opener, category: Category
) -> None:
    """Raise TicketError with the reason when ``opener`` may not open a ticket now."""
    settings: GuildSettings = await ctx.guild_settings(str(guild_id))
    now = ctx.clock()
    if opener.timed_out_until is not None and opener.timed_out_until > now:
        raise TicketError(
            Text("checks.timed_out", until=f"<t:{int(opener.timed_out_until.timestamp())}:t>")
        )
    blocked = {int(r) for r in [*settings.blocked_roles, *category.blocked_roles]}
    if blocked & opener.role_ids:
        raise TicketError(Text("checks.blocked"))
    missing = [r for r in category.required_roles if int(r) not in opener.role_ids]
    if missing:
        roles = ", ".join(f"<@&{r}>" for r in missing)
        raise TicketError(Text("checks.required_roles", roles=roles, category=category.name))
    if category.mode == "channel" and category.discord_category is not None:
        await _check_category_room(ctx, guild_id, category)
    total = await ctx.tickets.count_open_in_category(str(guild_id), category.key)
    if total >= category.total_limit:
        raise category_full(category)
    mine = await ctx.tickets.count_active(str(guild_id), str(opener.user_id), category.key)
    if mine >= category.member_limit:
        raise TicketError(
            Text(
                "checks.member_limit",
                count=mine,
                category=category.name,
                limit=category.member_limit,
            )
        )
    if category.cooldown_ms:
        last = await ctx.tickets.last_opened_at(str(guild_id), str(opener.user_id), category.key)
        if last is not None:
            ready = last + timedelta(milliseconds=category.cooldown_ms)
            if ready > now:
                raise TicketError(
                    Text(
                        "checks.cooldown", wait=human_duration(ready - now), category=category.name
                    )
                )


async def _check_category_room(ctx: TicketContext, guild_id: int, category: Category) -> None:
    assert category.discord_category is not None
    inside = await channels_in(
        ctx.cache,
        ctx.tenant,
        guild_id,
        category.discord_category,
        lambda: ctx.bot.http.get_all_guild_channels(guild_id),
    )
    if inside >= MAX_CHANNELS_PER_CATEGORY:
        raise TicketError(Text("checks.discord_category_full"))
