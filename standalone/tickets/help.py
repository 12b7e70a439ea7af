"""``/help``: the commands the person asking may use, in their language."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.ext import commands
from disnake.i18n import LocalizationValue
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone.i18n import localised, t
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_admin, is_any_staff
from standalone.tickets.replies import ALREADY_ACKNOWLEDGED, NO_PINGS, answer_locale

# Commands every member may use, by their registered (en-GB) name. A command that is
# not listed here is shown to staff only, or to admins only when Discord restricts
# it to a permission: a new command stays hidden from members until it is added.
MEMBER_COMMANDS = frozenset(
    {"help", "new", "close", "Create ticket from message", "tag", "tickets", "transcript"}
)
MEMBER, STAFF, ADMIN = 0, 1, 2
# An embed description holds 4096 characters.
MAX_TEXT = 4000


def _localised(text: str, localisations: LocalizationValue, locale: str) -> str:
    """A name or description as Discord shows it in ``locale``."""
    # disnake keeps the catalogue key a command was declared with; reading the
    # catalogue through it gives the en-GB fallback a missing translation needs.
    key = getattr(localisations, "_key", None)
    return t(locale, key) if key else text


def audience(name: str, permissions: disnake.Permissions | None) -> int:
    """Who may use a command: everyone, staff, or admins (those Discord restricts)."""
    if name in MEMBER_COMMANDS:
        return MEMBER
    if permissions is not None and permissions.value:
        return ADMIN
    return STAFF


def _slash_lines(command: commands.InvokableSlashCommand, locale: str) -> list[str]:
    body = command.body
    name = _localised(body.name, body.name_localizations, locale)
    if not command.children:
        description = _localised(body.description, body.description_localizations, locale)
        return [f"`/{name}` · {description}"]
    lines: list[str] = []
    for child in command.children.values():
        option = child.body
        sub = _localised(option.name, option.name_localizations, locale)
        description = _localised(option.description, option.description_localizations, locale)
        lines.append(f"`/{name} {sub}` · {description}")
    return lines


def help_text(bot: commands.InteractionBot, locale: str, level: int) -> str:
    """The commands up to ``level`` (member, staff, admin), one line each."""
    lines: list[str] = []
    for command in sorted(bot.slash_commands, key=lambda c: c.name):
        if audience(command.name, command.default_member_permissions) <= level:
            lines.extend(_slash_lines(command, locale))
    menus: list[commands.InvokableApplicationCommand] = [
        *bot.message_commands,
        *bot.user_commands,
    ]
    for menu in sorted(menus, key=lambda c: c.name):
        if audience(menu.name, menu.default_member_permissions) > level:
            continue
        body = menu.body
        label = _localised(body.name, body.name_localizations, locale)
        message_menu = isinstance(menu, commands.InvokableMessageCommand)
        kind = "help.message_menu" if message_menu else "help.user_menu"
        lines.append(t(locale, kind, name=label))
    text = "\n".join(lines)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class HelpCommands(FeatureCog):
    """``/help`` for everyone."""

    def __init__(self, ctx: TicketContext, bot: commands.InteractionBot) -> None:
        self.ctx = ctx
        self.bot = bot

    @commands.slash_command(
        name=localised("cmd_core.help.name"),
        description=localised("cmd_core.help.description"),
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def help(self, inter: ApplicationCommandInteraction[Any]) -> None:
        locale = await answer_locale(inter)
        level = MEMBER
        if is_admin(inter):
            level = ADMIN
        elif inter.guild_id is not None:
            categories = await self.ctx.settings.categories(str(inter.guild_id))
            level = STAFF if is_any_staff(inter, categories) else MEMBER
        title = "help.title_staff" if level > MEMBER else "help.title"
        settings = await self.ctx.guild_settings(str(inter.guild_id or 0))
        embed = disnake.Embed(
            title=t(locale, title),
            description=help_text(self.bot, locale, level),
            colour=settings.colour,
        )
        if not inter.response.is_done():
            try:
                await inter.response.send_message(
                    embed=embed, ephemeral=True, allowed_mentions=NO_PINGS
                )
                return
            except disnake.HTTPException as exc:
                if exc.code != ALREADY_ACKNOWLEDGED:
                    raise
        # A redelivered /help: the first delivery answered, so this follows up.
        await inter.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)
