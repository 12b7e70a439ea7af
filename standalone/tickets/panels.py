"""Posting a panel: the message members open tickets from (``/panel`` and the API)."""

from __future__ import annotations

from typing import Any

import disnake

from standalone.db.records import Category, GuildSettings
from standalone.i18n import Text, t
from standalone.tickets import custom_ids, views
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import NO_PINGS


async def send_panel(
    ctx: TicketContext,
    channel_id: int,
    chosen: list[Category],
    settings: GuildSettings,
    *,
    style: str,
    title: str | None,
    description: str | None,
    marker: str,
) -> None:
    """Post a panel for ``chosen`` in the channel, unless this ``marker``'s panel is there.

    ``marker`` tells this panel's components from other panels'; a retry with the
    same marker (a redelivered command) finds the panel its first try posted.
    """
    locale = await ctx.guild_locale(settings.guild_id)
    heading = title or (
        t(locale, "panels.one_title", category=chosen[0].name)
        if len(chosen) == 1
        else t(locale, "panels.title")
    )
    text = description or (
        t(locale, "panels.click")
        if len(chosen) == 1 or style != "menu"
        else t(locale, "panels.pick")
    )
    embed = views.panel_embed(heading, text, settings)
    rows: list[Any]
    if style == "menu" and len(chosen) > 1:
        menu = views.category_menu(chosen, marker, locale=locale)
        rows, wanted = [disnake.ui.ActionRow(menu)], menu.custom_id
    else:
        rows = views.panel_buttons(chosen, marker, locale)
        wanted = custom_ids.make(custom_ids.OPEN, chosen[0].key, marker)
    if await ctx.find_bot_message(channel_id, wanted) is not None:
        return
    try:
        await ctx.bot.get_partial_messageable(channel_id).send(
            embed=embed, components=rows, allowed_mentions=NO_PINGS
        )
    except disnake.HTTPException as exc:
        if exc.status != 400:
            raise
        # Usually an emoji Discord does not know; retrying cannot help.
        raise TicketError(Text("panels.refused", detail=exc.text)) from None
