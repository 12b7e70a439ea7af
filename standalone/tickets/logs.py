"""The guild's log channel: ticket events as embeds, posted once each."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import disnake

from standalone.tickets.context import TicketContext
from standalone.tickets.replies import NO_PINGS

log = logging.getLogger(__name__)


async def log_event(
    ctx: TicketContext,
    guild_id: str,
    embed: disnake.Embed,
    components: Sequence[disnake.ui.Button[None]] | None = None,
) -> str | None:
    """Post ``embed`` in the guild's log channel; returns the message id, None if not posted.

    When the first component has a custom id, a message already carrying it (an
    earlier delivery of the same event) is taken instead of posting twice. A log
    channel that is gone or closed to the bot does not stop what is being logged.
    """
    settings = await ctx.guild_settings(guild_id)
    if settings.log_channel is None:
        return None
    channel_id = int(settings.log_channel)
    marker = components[0].custom_id if components else None
    try:
        if marker:
            existing = await ctx.find_bot_message(channel_id, marker)
            if existing is not None:
                return existing
        sent = await ctx.bot.get_partial_messageable(channel_id).send(
            embed=embed, components=list(components or []), allowed_mentions=NO_PINGS
        )
    except (disnake.Forbidden, disnake.NotFound) as exc:
        log.warning("guild %s: cannot log to channel %s: %s", guild_id, channel_id, exc)
        return None
    return str(sent.id)
