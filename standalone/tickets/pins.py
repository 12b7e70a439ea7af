""" "Pin message": staff or the ticket's creator pin a message of the ticket.

Members of a ticket have no Manage Messages, so the bot pins for them. The pins
Discord has after the pin are kept in ``Ticket.pinned_message_ids`` (the
transcript marks them). Pinning is a PUT, so a redelivery repeats it harmlessly.
"""

from __future__ import annotations

from typing import Any

import disnake
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone.i18n import Text
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import defer
from standalone.tickets.ticket_edits import done, editing, require_creator_or_staff

MAX_PINS_REACHED = 30003  # Discord's error code


async def pin(ctx: TicketContext, inter: ApplicationCommandInteraction[Any]) -> None:
    """Pin the message the command was used on, if it is in an open ticket."""
    ticket = await ctx.tickets.by_channel(str(inter.channel_id))
    if ticket is None:
        raise TicketError(Text("staff.pin_outside"))
    if ticket.state != "open":
        raise TicketError(Text("staff.not_open"))
    await require_creator_or_staff(ctx, inter, ticket)
    message = inter.target
    if not isinstance(message, disnake.Message) or message.channel.id != inter.channel_id:
        raise TicketError(Text("staff.pin_outside"))
    await defer(inter)
    assert ticket.channel_id is not None
    channel = int(ticket.channel_id)
    try:
        await ctx.bot.http.pin_message(
            channel, message.id, reason=f"Pinned in ticket #{ticket.number} by {inter.author.id}"
        )
    except disnake.NotFound:
        raise TicketError(Text("staff.pin_gone")) from None
    except disnake.HTTPException as exc:
        if exc.code == MAX_PINS_REACHED:
            raise TicketError(Text("staff.pins_full")) from None
        raise
    async with editing(ctx, inter, ticket) as before:
        found: Any = await ctx.bot.http.get_pins(channel, 50)
        items = found.get("items", []) if isinstance(found, dict) else found
        pins = [str(item.get("message", item)["id"]) for item in items]
        after = await ctx.tickets.set_pins(before, pins)
    await done(ctx, inter, before, after, Text("staff.pinned"))
