"""The guild's log channel: ticket events as embeds, posted once each.

An entry with buttons is recognised by its first button's custom id (and a
fingerprint in its embeds); any other entry carries its event's fingerprint in
its footer. A marker in the coordination cache remembers the message an event
became, and a short lock keeps two deliveries of one event from posting at once;
when the marker is gone (it expires), the channel's recent messages are searched.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from typing import Any, cast

import disnake
import msgspec

from standalone import keys
from standalone.tickets import locks
from standalone.tickets.context import TicketContext
from standalone.tickets.replies import NO_PINGS

log = logging.getLogger(__name__)

MARKER_TTL_MS = 7 * 24 * 3600 * 1000  # longer than any redelivery waits
LOCK_TTL_MS = 15_000
LOCK_WAIT_S = 20.0


def fingerprint_of(kind: str, event_id: str) -> str:
    """A short, stable tag for one event (a kind and the id that makes it unique)."""
    return hashlib.sha256(f"{kind}:{event_id}".encode()).hexdigest()[:16]


def footer_tag(fingerprint: str) -> str:
    """How an entry without buttons shows its fingerprint (in its footer)."""
    return f"#{fingerprint}"


async def already_posted(
    ctx: TicketContext, channel_id: int, custom_id: str | None, fingerprint: str | None = None
) -> str | None:
    """A recent message of the bot with this component (and ``fingerprint`` in its embeds).

    A ticket closed, reopened and closed again carries the same buttons each time;
    the fingerprint (its close time, say) tells this close's message from the last.
    Without a custom id, the fingerprint alone finds the message.
    """
    for message in await ctx.bot.http.logs_from(channel_id, 20):
        if str(message["author"]["id"]) != str(ctx.bot_id):
            continue
        if custom_id is not None:
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
    instead of posting twice. Without components, ``fingerprint`` is written in the
    footer and an earlier delivery's message is found by it. A log channel that is
    gone or closed to the bot does not stop what is being logged.
    """
    settings = await ctx.guild_settings(guild_id)
    if settings.log_channel is None:
        return None
    channel_id = int(settings.log_channel)
    marker = components[0].custom_id if components else None
    if marker is None and fingerprint is not None:
        embed.set_footer(text=footer_tag(fingerprint))
    try:
        if fingerprint is None:
            if marker:
                existing = await already_posted(ctx, channel_id, marker)
                if existing is not None:
                    return existing
            return await _send(ctx, channel_id, embed, components)
        return await _once(ctx, guild_id, channel_id, embed, components, marker, fingerprint)
    except (disnake.Forbidden, disnake.NotFound) as exc:
        log.warning("guild %s: cannot log to channel %s: %s", guild_id, channel_id, exc)
        return None
    except locks.Busy:
        # Another delivery of the same event is posting it right now.
        return None


async def _once(
    ctx: TicketContext,
    guild_id: str,
    channel_id: int,
    embed: disnake.Embed,
    components: Sequence[disnake.ui.Button[None]] | None,
    marker: str | None,
    fingerprint: str,
) -> str:
    # An entry with buttons is told apart by them too (two tickets closed in the same instant).
    tag = fingerprint_of(marker, fingerprint) if marker else fingerprint
    done_key = keys.log_entry(ctx.tenant, guild_id, tag)
    lock = keys.log_entry_lock(ctx.tenant, guild_id, tag)
    holder = secrets.token_hex(8)
    async with locks.held(ctx.cache, lock, holder, ttl_ms=LOCK_TTL_MS, wait_s=LOCK_WAIT_S):
        done = await ctx.cache.get(done_key)
        if done is not None:
            return done.decode()
        # The marker is written after the post: a delivery that died in between
        # left the message, which the channel still shows.
        existing = await already_posted(ctx, channel_id, marker, fingerprint)
        sent = existing or await _send(ctx, channel_id, embed, components)
        await ctx.cache.set(done_key, sent.encode(), ttl_ms=MARKER_TTL_MS)
        return sent


async def _send(
    ctx: TicketContext,
    channel_id: int,
    embed: disnake.Embed,
    components: Sequence[disnake.ui.Button[None]] | None,
) -> str:
    sent = await ctx.bot.get_partial_messageable(channel_id).send(
        embed=embed, components=list(components or []), allowed_mentions=NO_PINGS
    )
    return str(sent.id)
