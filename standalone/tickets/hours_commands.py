"""``/hours``: admins set the server's (or one category's) working hours.

Its own command rather than options of ``/settings``: Discord forbids
subcommands on a command that takes options, and a week of times would crowd it.
"""

from __future__ import annotations

from typing import Any

from babel.dates import get_day_names
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone.db.records import Category
from standalone.i18n import Text, localised
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_admin
from standalone.tickets.errors import TicketError
from standalone.tickets.hours import DAYS, BadHours, Schedule, make_schedule, parse_schedule
from standalone.tickets.replies import reader_locale, reply
from standalone.tickets.settings_commands import ADMIN_ONLY, GUILD_ONLY


def day_names(locale: str) -> list[str]:
    """Monday to Sunday, spelt out in ``locale``."""
    names = get_day_names("wide", locale=locale.replace("-", "_"))
    return [str(names[n]) for n in range(7)]


def describe_schedule(schedule: Schedule | None, locale: str) -> str:
    """One line per day, in the reader's language; the zone first."""
    if schedule is None:
        return Text("hours.none").render(locale)
    off = Text("hours.day_off").render(locale)
    lines = [Text("hours.zone", zone=schedule.zone).render(locale)]
    for name, day in zip(day_names(locale), schedule.days, strict=True):
        lines.append(f"{name}: {day.render() if day else off}")
    return "\n".join(lines)


def week(weekdays: str | None, given: dict[str, str | None]) -> list[str]:
    """Seven days as typed: a day's own option, else ``weekdays`` for Monday-Friday, else off."""
    days: list[str] = []
    for n, name in enumerate(DAYS):
        own = given.get(name)
        days.append(own if own is not None else (weekdays or "off") if n < 5 else "off")
    return days


class HoursCommands(FeatureCog):
    """``/hours set``, ``/hours show`` and ``/hours clear``."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    async def _admin_guild(self, inter: ApplicationCommandInteraction[Any]) -> str:
        if inter.guild_id is None or not is_admin(inter):
            raise TicketError(Text("hours.admin_only"))
        return str(inter.guild_id)

    async def _category(self, guild_id: str, wanted: str) -> Category:
        for category in await self.ctx.settings.categories(guild_id):
            if category.key == wanted or category.name.lower() == wanted.strip().lower():
                return category
        raise TicketError(Text("hours.unknown_category", name=wanted[:100]))

    async def _save(
        self, inter: ApplicationCommandInteraction[Any], category: str | None, stored: str | None
    ) -> Text:
        guild = await self._admin_guild(inter)
        if category:
            found = await self._category(guild, category)
            await self.ctx.settings.update_category(guild, found.key, working_hours=stored)
            return Text("hours.scope_category", name=found.name)
        await self.ctx.settings.update_guild(guild, working_hours=stored)
        return Text("hours.scope_guild")

    @commands.slash_command(
        name=localised("cmd_opening.hours.name"),
        description=localised("cmd_opening.hours.description"),
        contexts=GUILD_ONLY,
        default_member_permissions=ADMIN_ONLY,
    )
    async def hours(self, inter: ApplicationCommandInteraction[Any]) -> None:
        """Working hours."""

    @hours.sub_command(
        name=localised("cmd_opening.hours.set.name"),
        description=localised("cmd_opening.hours.set.description"),
    )
    async def hours_set(
        self,
        inter: ApplicationCommandInteraction[Any],
        timezone: str = commands.Param(
            name=localised("cmd_opening.hours.set.timezone.name"),
            description=localised("cmd_opening.hours.set.timezone.description"),
            max_length=64,
        ),
        weekdays: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.set.weekdays.name"),
            description=localised("cmd_opening.hours.set.weekdays.description"),
            max_length=30,
        ),
        monday: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.set.monday.name"),
            description=localised("cmd_opening.hours.set.day.description"),
            max_length=30,
        ),
        tuesday: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.set.tuesday.name"),
            description=localised("cmd_opening.hours.set.day.description"),
            max_length=30,
        ),
        wednesday: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.set.wednesday.name"),
            description=localised("cmd_opening.hours.set.day.description"),
            max_length=30,
        ),
        thursday: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.set.thursday.name"),
            description=localised("cmd_opening.hours.set.day.description"),
            max_length=30,
        ),
        friday: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.set.friday.name"),
            description=localised("cmd_opening.hours.set.day.description"),
            max_length=30,
        ),
        saturday: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.set.saturday.name"),
            description=localised("cmd_opening.hours.set.day.description"),
            max_length=30,
        ),
        sunday: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.set.sunday.name"),
            description=localised("cmd_opening.hours.set.day.description"),
            max_length=30,
        ),
        category: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.category.name"),
            description=localised("cmd_opening.hours.category.description"),
        ),
    ) -> None:
        await self._admin_guild(inter)
        given = {
            "monday": monday,
            "tuesday": tuesday,
            "wednesday": wednesday,
            "thursday": thursday,
            "friday": friday,
            "saturday": saturday,
            "sunday": sunday,
        }
        try:
            schedule = make_schedule(timezone, week(weekdays, given))
        except BadHours as exc:
            raise TicketError(exc.text) from None
        scope = await self._save(inter, category, schedule.render())
        locale = reader_locale(inter)
        await reply(
            inter,
            Text("hours.saved", scope=scope).render(locale)
            + "\n"
            + describe_schedule(schedule, locale),
        )

    @hours.sub_command(
        name=localised("cmd_opening.hours.show.name"),
        description=localised("cmd_opening.hours.show.description"),
    )
    async def hours_show(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.category.name"),
            description=localised("cmd_opening.hours.category.description"),
        ),
    ) -> None:
        guild = await self._admin_guild(inter)
        stored = (await self.ctx.guild_settings(guild)).working_hours
        if category:
            own = (await self._category(guild, category)).working_hours
            stored = own or stored
        await reply(inter, describe_schedule(parse_schedule(stored), reader_locale(inter)))

    @hours.sub_command(
        name=localised("cmd_opening.hours.clear.name"),
        description=localised("cmd_opening.hours.clear.description"),
    )
    async def hours_clear(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str | None = commands.Param(
            default=None,
            name=localised("cmd_opening.hours.category.name"),
            description=localised("cmd_opening.hours.category.description"),
        ),
    ) -> None:
        scope = await self._save(inter, category, None)
        await reply(inter, Text("hours.cleared", scope=scope))

    @hours_set.autocomplete("category")
    @hours_show.autocomplete("category")
    @hours_clear.autocomplete("category")
    async def _categories(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> dict[str, str]:
        if inter.guild_id is None:
            return {}
        needle = text.lower()
        every = await self.ctx.settings.categories(str(inter.guild_id))
        return {c.name[:100]: c.key for c in every if needle in c.name.lower()}
