"""Closing a ticket: transcript stored, channel removed, row closed."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.base import Interaction

from standalone import keys
from standalone.db.records import Category, Ticket, Timer
from standalone.tickets import custom_ids
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_staff
from standalone.tickets.errors import TicketError
from standalone.tickets.events import ChannelDelete, decode
from standalone.tickets.replies import defer, reply
from standalone.tickets.router import ComponentRouter, EventRouter, TimerRouter
from standalone.tickets.transcript import (
    TranscriptEdit,
    TranscriptHeader,
    TranscriptMessage,
    render_html,
)


class Closing:
    """``/close``, the Close button, and tickets whose channel vanished."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    def register(
        self, components: ComponentRouter, events: EventRouter, timers: TimerRouter
    ) -> None:
        """Take the Close button, channel deletions and due auto-closes."""
        components.button(custom_ids.CLOSE, self._close_button)
        events.on("CHANNEL_DELETE", self._channel_deleted_event)
        timers.on("auto_close", self._auto_close_due)

    async def _auto_close_due(self, timer: Timer) -> None:
        ticket = await self.ctx.tickets.get(timer.guild_id, timer.number)
        if ticket is None or ticket.state not in {"open", "closing"}:
            return
        await self.finish(ticket, None, "inactivity")

    def cog(self) -> commands.Cog:
        """The slash commands of this feature."""
        return ClosingCommands(self)

    async def _close_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self.close(inter, None)

    async def _channel_deleted_event(self, data: bytes) -> None:
        channel = decode("CHANNEL_DELETE", data, ChannelDelete)
        await self.channel_deleted(channel.id)

    async def channel_deleted(self, channel_id: str) -> Ticket | None:
        """Someone deleted a ticket's channel in Discord: close the ticket with what we have.

        A ticket already ``closing`` is left to the close that deleted the channel.
        """
        ticket = await self.ctx.tickets.by_channel(channel_id)
        if ticket is None or ticket.state not in {"open", "opening"}:
            return None
        category = await self.ctx.category_of(ticket)
        ticket = await self.ctx.tickets.mark_closing(
            ticket, "discord", self.ctx.cipher.encrypt("channel deleted")
        )
        key = await self.write_transcript(ticket, category)
        return await self.ctx.tickets.mark_closed(ticket, key)

    async def close(self, inter: Interaction[Any], reason: str | None) -> Ticket:
        """Close the ticket of this channel: transcript, channel deleted, row closed."""
        ticket = await self.ctx.tickets.by_channel(str(inter.channel_id))
        if ticket is None:
            raise TicketError("This channel is not a ticket.")
        if ticket.state == "closed":
            raise TicketError("This ticket is already closed.")
        category = await self.ctx.category_of(ticket)
        if str(inter.author.id) != ticket.creator_id and not is_staff(inter, category):
            raise TicketError("Only the member who opened this ticket or staff can close it.")
        if reason is not None and len(reason) > 500:
            raise TicketError("The reason can be at most 500 characters long.")
        await defer(inter)
        await reply(inter, f"Closing ticket #{ticket.number}; its transcript will be saved.")
        return await self.finish(ticket, str(inter.author.id), reason)

    async def finish(self, ticket: Ticket, closed_by: str | None, reason: str | None) -> Ticket:
        """The final close, safe to run again: transcript, channel removed, row closed.

        ``closed_by`` None means the bot closed it (a timer, a departure).
        """
        if ticket.state == "closed":
            return ticket
        if ticket.state != "closing":
            encrypted = self.ctx.cipher.encrypt(reason) if reason else None
            ticket = await self.ctx.tickets.mark_closing(
                ticket, closed_by or "automation", encrypted
            )
        await self.ctx.timers.cancel(ticket.guild_id, ticket.number)
        category = await self.ctx.category_of(ticket)
        key = await self.write_transcript(ticket, category)
        if ticket.channel_id is not None:
            # NotFound: an earlier attempt, or a person, deleted it already.
            with contextlib.suppress(disnake.NotFound):
                await self.ctx.bot.http.delete_channel(
                    int(ticket.channel_id), reason=f"Ticket #{ticket.number} closed"
                )
        return await self.ctx.tickets.mark_closed(ticket, key)

    async def write_transcript(self, ticket: Ticket, category: Category | None) -> str:
        """Render the ticket's archive to HTML on the storage port; returns its key."""
        cipher = self.ctx.cipher
        archived = await self.ctx.tickets.archived(ticket)
        messages = [
            TranscriptMessage(
                author_id=m.author_id,
                author_name=m.author_name,
                author_bot=m.author_bot,
                content=cipher.decrypt(m.content),
                created_at=m.created_at,
                edited=m.edited,
                deleted=m.deleted,
                edits=[
                    TranscriptEdit(content=cipher.decrypt(e["content"]), at=e["at"])
                    for e in m.edits
                ],
            )
            for m in archived
        ]
        header = TranscriptHeader(
            guild_id=ticket.guild_id,
            number=ticket.number,
            category=category.name if category else "(deleted category)",
            creator_id=ticket.creator_id,
            topic=cipher.decrypt(ticket.topic) if ticket.topic else None,
            opened_at=ticket.created_at,
            closed_at=ticket.closed_at or datetime.now(UTC),
            closed_by=ticket.closed_by or "automation",
        )
        key = keys.transcript(ticket.guild_id, ticket.number)
        await self.ctx.store.put(
            key, render_html(header, messages).encode(), content_type="text/html; charset=utf-8"
        )
        return key


class ClosingCommands(FeatureCog):
    """``/close`` inside a ticket."""

    def __init__(self, closing: Closing) -> None:
        self.closing = closing

    @commands.slash_command(
        name="close",
        description="Close this ticket.",
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def close(
        self,
        inter: ApplicationCommandInteraction[Any],
        reason: str | None = commands.Param(
            default=None, max_length=500, description="Why it is closed"
        ),
    ) -> None:
        await self.closing.close(inter, reason)
