"""Deletes Discord's "pinned a message" notice after the bot pins a ticket's opening message.

v4 does it by reading the channel's latest messages right after the pin. Both
requests count against the bot's global budget of 50 a second, which ticket
opens spend first; the notice arrives as a MESSAGE_CREATE anyway, in order with
the channel's other events, so it is deleted from there with one request.
"""

from __future__ import annotations

import contextlib
import logging

import disnake

from standalone.tickets.context import TicketContext
from standalone.tickets.events import CHANNEL_PINNED_MESSAGE, MessageEvent, decode
from standalone.tickets.router import EventRouter

log = logging.getLogger(__name__)


class PinNotices:
    """Removes the bot's own pin notice for an opening message."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    def register(self, events: EventRouter) -> None:
        """Listen for new messages."""
        events.on("MESSAGE_CREATE", self._message_created)

    async def _message_created(self, data: bytes) -> None:
        notice = decode("MESSAGE_CREATE", data, MessageEvent)
        if (
            notice.type != CHANNEL_PINNED_MESSAGE
            or notice.guild_id is None
            or notice.author.id != str(self.ctx.bot_id)
            or notice.message_reference is None
        ):
            return
        ticket = await self.ctx.tickets.by_channel(notice.channel_id)
        if ticket is None:
            return
        pinned = notice.message_reference.message_id
        # While a ticket opens, the only message the bot pins is its opening message
        # (its id is recorded only when the open completes).
        if ticket.state != "opening" and pinned != ticket.opening_message_id:
            return
        with contextlib.suppress(disnake.NotFound):
            await self.ctx.bot.http.delete_message(int(notice.channel_id), int(notice.id))
        log.debug("ticket %s#%s: pin notice removed", ticket.guild_id, ticket.number)
