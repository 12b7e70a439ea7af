"""Every message of a ticket, kept encrypted for its transcript, with its edits and deletions.

Archiving can be turned off per guild (``archive``) and per category (its
``archive`` overrides the guild's); then no message content is stored at all.
"""

from __future__ import annotations

from standalone.db.archive import ArchiveRepository
from standalone.db.records import Ticket
from standalone.tickets.context import TicketContext
from standalone.tickets.events import (
    CHANNEL_PINNED_MESSAGE,
    MessageDelete,
    MessageDeleteBulk,
    MessageEvent,
    MessageUpdate,
    decode,
)
from standalone.tickets.router import EventRouter
from standalone.tickets.ticket_log import message_deleted, message_edited

BULK_LOGGED = 20  # messages of one bulk deletion that get a log entry each


class Archive:
    """Keeps messages sent in ticket channels."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.messages = ArchiveRepository(ctx.tickets.database, ctx.tenant)

    def register(self, events: EventRouter) -> None:
        """Listen for the message events."""
        events.on("MESSAGE_CREATE", self._message_created)
        events.on("MESSAGE_UPDATE", self._message_updated)
        events.on("MESSAGE_DELETE", self._message_deleted)
        events.on("MESSAGE_DELETE_BULK", self._messages_deleted)

    async def _message_created(self, data: bytes) -> None:
        event = decode("MESSAGE_CREATE", data, MessageEvent)
        if event.guild_id is not None:
            await self.archive(event)

    async def _message_updated(self, data: bytes) -> None:
        event = decode("MESSAGE_UPDATE", data, MessageUpdate)
        if event.guild_id is not None:
            await self.edit(event)

    async def _message_deleted(self, data: bytes) -> None:
        event = decode("MESSAGE_DELETE", data, MessageDelete)
        if event.guild_id is not None:
            await self.log_deleted(event.channel_id, [event.id])
            await self.messages.mark_deleted([event.id])

    async def _messages_deleted(self, data: bytes) -> None:
        event = decode("MESSAGE_DELETE_BULK", data, MessageDeleteBulk)
        if event.guild_id is not None:
            await self.log_deleted(event.channel_id, event.ids[:BULK_LOGGED])
            await self.messages.mark_deleted(event.ids)

    async def log_deleted(self, channel_id: str, message_ids: list[str]) -> None:
        """Log deleted messages of an open ticket, as the archive kept them.

        Before they are marked: a redelivery after the mark finds the entries by
        their fingerprints, one after a crash before it posts them then.
        """
        ticket = await self._ticket(channel_id)
        if ticket is None:
            return
        for message_id in message_ids:
            archived = await self.messages.get(message_id)
            if archived is not None and not archived.external:
                await message_deleted(self.ctx, ticket, archived)

    async def enabled(self, ticket: Ticket) -> bool:
        """Whether the ticket's messages are archived: its category's choice, else the guild's."""
        category = await self.ctx.category_of(ticket)
        if category is not None and category.archive is not None:
            return category.archive
        return (await self.ctx.guild_settings(ticket.guild_id)).archive

    async def _ticket(self, channel_id: str) -> Ticket | None:
        ticket = await self.ctx.tickets.by_channel(channel_id)
        if ticket is None or ticket.state == "closed" or not await self.enabled(ticket):
            return None
        return ticket

    async def archive(self, event: MessageEvent) -> bool:
        """Keep a message sent in a ticket channel; False when it is not kept."""
        if event.type == CHANNEL_PINNED_MESSAGE:
            # A notice with no text (the bot deletes its own); transcripts list pins anyway.
            return False
        ticket = await self._ticket(event.channel_id)
        if ticket is None:
            return False
        await self.ctx.tickets.archive_message(
            ticket,
            message_id=event.id,
            author_id=event.author.id,
            author_name=self.ctx.cipher.encrypt(event.author.global_name or event.author.username),
            author_bot=event.author.bot,
            content=self.ctx.cipher.encrypt(event.text()),
            created_at=event.timestamp,
        )
        return True

    async def edit(self, event: MessageUpdate) -> bool:
        """Keep the earlier version of an edited message; False when nothing changed."""
        text = event.text()
        if text is None:
            return False  # no new content: an embed unfurl, or a pin
        archived = await self.messages.get(event.id)
        if archived is None or (ticket := await self._ticket(event.channel_id)) is None:
            return False
        if self.ctx.cipher.decrypt(archived.content) == text:
            return False  # a redelivery of an edit already kept
        # Logged before it is kept: once kept, a redelivery would see nothing changed.
        await message_edited(self.ctx, ticket, archived, text, event.edited_timestamp)
        at = event.edited_timestamp or self.ctx.clock()
        await self.messages.edit(event.id, self.ctx.cipher.encrypt(text), at)
        return True
