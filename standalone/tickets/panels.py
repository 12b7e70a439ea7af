"""Posting a panel: the message members open tickets from (``/panel`` and the API)."""

from __future__ import annotations

from typing import Any

import disnake

from standalone.db.records import Category, GuildSettings
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
    heading = title or (f"{chosen[0].name} tickets" if len(chosen) == 1 else "Open a ticket")
    text = description or (
        "Click the button below to open a private ticket."
        if len(chosen) == 1 or style != "menu"
        else "Pick a category below to open a private ticket."
    )
    embed = views.panel_embed(heading, text, settings)
    rows: list[Any]
    if style == "menu" and len(chosen) > 1:
        menu = views.category_menu(chosen, marker)
        rows, wanted = [disnake.ui.ActionRow(menu)], menu.custom_id
    else:
        rows = views.panel_buttons(chosen, marker)
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
        raise TicketError(
            f"Discord refused the panel ({exc.text}). Check the categories' emoji "
            "with `/category appearance`."
        ) from None
