"""``/stats``: how fast and how well tickets are handled, for staff and admins.

Figures come from the database (``StatsRepository``) over the last ``days`` days
and are cached for a minute per guild, category, member and window, so staff
asking again and again do not make the database add everything up each time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import disnake
import msgspec
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction

from emulation.ports import Cache
from standalone import keys
from standalone.db.records import Category
from standalone.db.stats import MAX_DAYS, Stats, StatsRepository
from standalone.i18n import Text, localised, t
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_admin, is_any_staff, is_staff
from standalone.tickets.errors import TicketError
from standalone.tickets.log_format import duration
from standalone.tickets.replies import defer, reader_locale, reply

CACHE_TTL_MS = 60_000
DEFAULT_DAYS = 30
GUILD_ONLY = disnake.InteractionContextTypes(guild=True)
# Option names and descriptions, localised once (argument defaults are evaluated once too).
CATEGORY_NAME = localised("cmd_stats.stats.category.name")
CATEGORY_DESCRIPTION = localised("cmd_stats.stats.category.description")
MEMBER_NAME = localised("cmd_stats.stats.member.name")
MEMBER_DESCRIPTION = localised("cmd_stats.stats.member.description")
DAYS_NAME = localised("cmd_stats.stats.days.name")
DAYS_DESCRIPTION = localised("cmd_stats.stats.days.description")


class Statistics:
    """Figures of one guild, one category or one staff member, cached briefly."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.repository = StatsRepository(ctx.tickets.database, ctx.tenant)

    def cog(self) -> commands.Cog:
        """The slash command of this feature."""
        return StatsCommands(self)

    async def figures(
        self, guild_id: str, days: int, *, category: str | None, member: str | None
    ) -> Stats:
        """The statistics of the last ``days`` days (from the cache when just asked)."""
        return await cached_figures(
            self.ctx.cache,
            self.repository,
            guild_id,
            self.ctx.clock(),
            days,
            category=category,
            member=member,
        )

    async def show(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str | None,
        member: disnake.User | disnake.Member | None,
        days: int,
    ) -> None:
        """Answer ``/stats``: staff of some category and admins only."""
        if inter.guild_id is None:
            raise TicketError(Text("stats.guild_only"))
        guild_id = str(inter.guild_id)
        every = await self.ctx.settings.categories(guild_id)
        if not is_any_staff(inter, every):
            raise TicketError(Text("stats.staff_only"))
        chosen = _find(every, category) if category else None
        if category and chosen is None:
            raise TicketError(Text("stats.no_category", name=category))
        if chosen is not None and not (is_admin(inter) or is_staff(inter, chosen)):
            raise TicketError(Text("stats.not_your_category", name=chosen.name))
        await defer(inter)
        figures = await self.figures(
            guild_id,
            days,
            category=chosen.key if chosen else None,
            member=str(member.id) if member else None,
        )
        locale = reader_locale(inter, await self.ctx.guild_locale(guild_id))
        await reply(inter, render(locale, figures, days, chosen, member))


async def cached_figures(
    cache: Cache,
    repository: StatsRepository,
    guild_id: str,
    now: datetime,
    days: int,
    *,
    category: str | None,
    member: str | None,
) -> Stats:
    """The figures of the ``days`` days up to ``now``; the same question within a
    minute is answered from the cache."""
    scope = f"{category or '*'}:{member or '*'}:{days}"
    key = keys.stats(repository.tenant, guild_id, scope)
    cached = await cache.get(key)
    if cached is not None:
        return msgspec.json.decode(cached, type=Stats)
    found = await repository.summary(
        guild_id, now - timedelta(days=days), now, category=category, member=member
    )
    await cache.set(key, msgspec.json.encode(found), ttl_ms=CACHE_TTL_MS)
    return found


def _find(categories: list[Category], wanted: str) -> Category | None:
    lowered = wanted.strip().lower()
    return next((c for c in categories if c.key == wanted or c.name.lower() == lowered), None)


def render(
    locale: str,
    figures: Stats,
    days: int,
    category: Category | None,
    member: disnake.User | disnake.Member | None,
) -> str:
    """The figures as staff read them, durations in words of ``locale``."""
    scope = [category.name if category else t(locale, "stats.whole_server")]
    if member is not None:
        scope.append(f"<@{member.id}>")
    none = t(locale, "stats.nothing_yet")

    def took(seconds: float | None, count: int) -> str:
        if seconds is None:
            return none
        return t(locale, "stats.average_of", time=duration(locale, seconds), count=count)

    rating = (
        t(locale, "stats.rating_of", rating=f"{figures.rating:.1f}", count=figures.rated)
        if figures.rating is not None
        else none
    )
    lines = [
        t(locale, "stats.title", scope=" · ".join(scope), count=days),
        t(locale, "stats.opened", count=figures.opened),
        t(locale, "stats.closed", count=figures.closed),
        t(locale, "stats.first_response", value=took(figures.response_s, figures.responded)),
        t(locale, "stats.resolution", value=took(figures.resolution_s, figures.closed)),
        t(locale, "stats.rating", value=rating),
    ]
    if member is not None:
        lines.append(t(locale, "stats.member_rule", member=f"<@{member.id}>"))
    return "\n".join(lines)


class StatsCommands(FeatureCog):
    """``/stats [category] [member] [days]``."""

    def __init__(self, statistics: Statistics) -> None:
        self.statistics = statistics

    @commands.slash_command(
        name=localised("cmd_stats.stats.name"),
        description=localised("cmd_stats.stats.description"),
        contexts=GUILD_ONLY,
    )
    async def stats(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str | None = commands.Param(
            default=None,
            name=CATEGORY_NAME,
            description=CATEGORY_DESCRIPTION,
        ),
        member: disnake.User | None = commands.Param(
            default=None,
            name=MEMBER_NAME,
            description=MEMBER_DESCRIPTION,
        ),
        days: int = commands.Param(
            default=DEFAULT_DAYS,
            ge=1,
            le=MAX_DAYS,
            name=DAYS_NAME,
            description=DAYS_DESCRIPTION,
        ),
    ) -> None:
        await self.statistics.show(inter, category, member, days)

    @stats.autocomplete("category")
    async def _category(self, inter: ApplicationCommandInteraction[Any], text: str) -> Any:
        if inter.guild_id is None:
            return {}
        needle = text.lower()
        every = await self.statistics.ctx.settings.categories(str(inter.guild_id))
        return {c.name: c.key for c in every if needle in c.name.lower()}
