"""The guild's log channel: ticket events as embeds, posted once each."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

import disnake
import msgspec

from standalone.tickets.context import TicketContext
from standalone.tickets.replies import NO_PINGS

log = logging.getLogger(__name__)


async def already_posted(
    ctx: TicketContext, channel_id: int, custom_id: str, fingerprint: str | None = None
) -> str | None:
    """A recent message of the bot with this component (and ``fingerprint`` in its embeds).

    A ticket closed, reopened and closed again carries the same buttons each time;
    the fingerprint (its close time, say) tells this close's message from the last.
    """
    for message in await ctx.bot.http.logs_from(channel_id, 20):
        if str(message["author"]["id"]) != str(ctx.bot_id):
            continue
        rows = cast(list[dict[str, Any]], message.get("components") or [])
        ids = {c.get("custom_id") for row in rows for c in row.get("components") or []}
        if custom_id not in ids:
            continue
        if (
            fingerprint is None
            or fingerprint in msgspec.json.encode(message.get("embeds")).decode()
        ):
            return str(message["id"])
    return None


async def log_event(
    ctx: TicketContext,
    guild_id: str,
    embed: disnake.Embed,
    components: Sequence[disnake.ui.Button[None]] | None = None,
    *,
    fingerprint: str | None = None,
) -> str | None:
    """Post ``embed`` in the guild's log channel; returns the message id, None if not posted.

    When the first component has a custom id, a message already carrying it (an
    earlier delivery of the same event, with ``fingerprint`` in its embeds) is taken
    instead of posting twice. A log
    channel that is gone or closed to the bot does not stop what is being logged.
    """
    settings = await ctx.guild_settings(guild_id)
    if settings.log_channel is None:
        return None
    channel_id = int(settings.log_channel)
    marker = components[0].custom_id if components else None
    try:
        if marker:
            existing = await already_posted(ctx, channel_id, marker, fingerprint)
            if existing is not None:
                return existing
        sent = await ctx.bot.get_partial_messageable(channel_id).send(
            embed=embed, components=list(components or []), allowed_mentions=NO_PINGS
        )
    except (disnake.Forbidden, disnake.NotFound) as exc:
        log.warning("guild %s: cannot log to channel %s: %s", guild_id, channel_id, exc)
        return None
    return str(sent.id)
