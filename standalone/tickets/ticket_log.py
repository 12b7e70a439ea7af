"""Log entries of a ticket's life: opened, claimed, released, a message edited or deleted.

Each is posted once per event (see ``logs.log_event``), in the guild's locale.
Messages are shown as the archive keeps them, cut to fit; bots' own messages
(notices the bot edits and removes itself) are not logged.
"""

from __future__ import annotations

from datetime import datetime

from standalone.db.records import ArchivedMessage, Ticket
from standalone.i18n import t
from standalone.tickets.context import TicketContext
from standalone.tickets.log_format import (
    CLAIMED,
    CREATED,
    DELETED,
    EDITED,
    RELEASED,
    diff_block,
    entry,
)
from standalone.tickets.logs import fingerprint_of, log_event

TEXT_SHOWN = 900  # characters of a message an entry shows


def _jump(ticket: Ticket, message_id: str | None = None) -> str:
    """A link to the ticket channel (or one of its messages)."""
    base = f"https://discord.com/channels/{ticket.guild_id}/{ticket.channel_id}"
    return f"{base}/{message_id}" if message_id else base


async def ticket_created(ctx: TicketContext, ticket: Ticket) -> str | None:
    """A ticket was opened (its opening interaction makes the entry's fingerprint)."""
    locale = await ctx.guild_locale(ticket.guild_id)
    category = await ctx.category_of(ticket)
    topic = ctx.cipher.decrypt(ticket.topic) if ticket.topic else None
    fields = [
        (t(locale, "logs.ticket_field.creator_id"), f"<@{ticket.creator_id}>"),
        (
            t(locale, "logs.ticket_field.category"),
            category.name if category else t(locale, "logs.deleted"),
        ),
        (t(locale, "logs.ticket_field.channel_id"), f"<#{ticket.channel_id}>"),
    ]
    if topic:
        fields.append((t(locale, "logs.ticket_field.topic"), topic))
    embed = entry(t(locale, "logs.ticket_created", number=ticket.number), CREATED, fields)
    fingerprint = fingerprint_of("ticket-created", ticket.interaction_id)
    return await log_event(ctx, ticket.guild_id, embed, fingerprint=fingerprint)


async def ticket_claimed(
    ctx: TicketContext, ticket: Ticket, actor_id: str, event_id: str, *, claimed: bool
) -> str | None:
    """A staff member claimed the ticket, or someone released it."""
    locale = await ctx.guild_locale(ticket.guild_id)
    key = "logs.ticket_claimed" if claimed else "logs.ticket_released"
    embed = entry(
        t(locale, key, number=ticket.number),
        CLAIMED if claimed else RELEASED,
        [
            (t(locale, "logs.by"), f"<@{actor_id}>"),
            (t(locale, "logs.ticket_field.channel_id"), f"<#{ticket.channel_id}>"),
        ],
    )
    fingerprint = fingerprint_of("claimed" if claimed else "released", event_id)
    return await log_event(ctx, ticket.guild_id, embed, fingerprint=fingerprint)


async def message_edited(
    ctx: TicketContext,
    ticket: Ticket,
    message: ArchivedMessage,
    new_text: str,
    edited_at: datetime | None,
) -> str | None:
    """A message in the ticket was edited: its text before and after."""
    if message.author_bot:
        return None
    locale = await ctx.guild_locale(ticket.guild_id)
    old_text = ctx.cipher.decrypt(message.content)
    embed = entry(
        t(locale, "logs.message_edited", number=ticket.number),
        EDITED,
        [
            (t(locale, "logs.author"), f"<@{message.author_id}>"),
            (t(locale, "logs.message"), _jump(ticket, message.message_id)),
            (t(locale, "logs.change"), diff_block(old_text[:TEXT_SHOWN], new_text[:TEXT_SHOWN])),
        ],
    )
    # Each edit of a message is its own event: the new text (with its time) tells them apart.
    stamp = f"{message.message_id}:{edited_at.isoformat() if edited_at else ''}:{new_text}"
    return await log_event(ctx, ticket.guild_id, embed, fingerprint=fingerprint_of("edited", stamp))


async def message_deleted(
    ctx: TicketContext, ticket: Ticket, message: ArchivedMessage
) -> str | None:
    """A message in the ticket was deleted: its text, recovered from the archive."""
    if message.author_bot:
        return None
    locale = await ctx.guild_locale(ticket.guild_id)
    text = ctx.cipher.decrypt(message.content)
    embed = entry(
        t(locale, "logs.message_deleted", number=ticket.number),
        DELETED,
        [
            (t(locale, "logs.author"), f"<@{message.author_id}>"),
            (t(locale, "logs.ticket_field.channel_id"), f"<#{ticket.channel_id}>"),
            (t(locale, "logs.message"), diff_block(text[:TEXT_SHOWN], None)),
        ],
    )
    fingerprint = fingerprint_of("deleted", message.message_id)
    return await log_event(ctx, ticket.guild_id, embed, fingerprint=fingerprint)
