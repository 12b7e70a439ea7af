"""Every message of a ticket, kept encrypted for its transcript."""

from __future__ import annotations

from standalone.tickets.context import TicketContext
from standalone.tickets.events import MessageEvent, decode
from standalone.tickets.router import EventRouter


class Archive:
    """Keeps messages sent in ticket channels."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    def register(self, events: EventRouter) -> None:
        """Listen for the message events."""
        events.on("MESSAGE_CREATE", self._message_created)

    async def _message_created(self, data: bytes) -> None:
        event = decode("MESSAGE_CREATE", data, MessageEvent)
        if event.guild_id is not None:
            await self.archive(event)

    async def archive(self, event: MessageEvent) -> bool:
        """Keep a message sent in a ticket channel; False when it is not a ticket's."""
        ticket = await self.ctx.tickets.by_channel(event.channel_id)
        if ticket is None or ticket.state == "closed":
            return False
        await self.ctx.tickets.archive_message(
            ticket,
            message_id=event.id,
            author_id=event.author.id,
            author_name=event.author.global_name or event.author.username,
            author_bot=event.author.bot,
            content=self.ctx.cipher.encrypt(event.text()),
            created_at=event.timestamp,
        )
        return True
