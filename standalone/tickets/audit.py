"""What staff tools and settings commands report to the guild's log channel.

Features call these after a change has been saved; ``event_id`` (the interaction id)
lets a redelivered event find the entry its first delivery posted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import disnake

from standalone.db.records import Ticket
from standalone.tickets.context import TicketContext
from standalone.tickets.logs import log_event

# Ticket fields a log entry may show; the rest are internal or secret.
SHOWN_FIELDS = ("category", "creator_id", "claimed_by", "priority", "added_members", "channel_id")


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The keys whose values differ, as (before, after)."""
    return {
        key: (before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


async def ticket_updated(
    ctx: TicketContext, before: Ticket, after: Ticket, actor_id: str, event_id: str
) -> str | None:
    """Log a change to a ticket (members, category, priority, topic…) with what changed."""
    diff = changed(
        {f: getattr(before, f) for f in SHOWN_FIELDS}, {f: getattr(after, f) for f in SHOWN_FIELDS}
    )
    if before.topic != after.topic:
        diff["topic"] = ("…", "…")  # encrypted at rest; the entry says only that it changed
    if not diff:
        return None
    embed = disnake.Embed(title=f"Ticket #{after.number} updated")
    embed.add_field("By", f"<@{actor_id}>", inline=False)
    for key, (old, new) in diff.items():
        embed.add_field(key, f"{old!s:.500} → {new!s:.500}", inline=False)
    embed.set_footer(text=f"event {event_id}")
    return await log_event(ctx, after.guild_id, embed)


async def settings_changed(
    ctx: TicketContext,
    guild_id: str,
    actor_id: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    event_id: str,
    *,
    what: str = "settings",
) -> str | None:
    """Log a change to a guild's settings or one of its categories."""
    diff = changed(before, after)
    if not diff:
        return None
    embed = disnake.Embed(title=f"{what} changed")
    embed.add_field("By", f"<@{actor_id}>", inline=False)
    for key, (old, new) in diff.items():
        embed.add_field(key, f"{old!s:.500} → {new!s:.500}", inline=False)
    embed.set_footer(text=f"event {event_id}")
    return await log_event(ctx, guild_id, embed)
