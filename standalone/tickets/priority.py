"""``/priority``: low, medium or high as an emoji in front of the channel name.

The name change spends the channel's rename budget like ``/rename`` does
(``standalone.tickets.renaming``); the level is kept in ``Ticket.priority``, set
after Discord has the new name, so a retried change renames nothing twice.
"""

from __future__ import annotations

from typing import Any

from disnake.interactions.base import Interaction

from standalone.db.ticket_staff import TicketStaffRepository
from standalone.i18n import Text
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.renaming import PRIORITY_EMOJI, current_name, rename, with_priority
from standalone.tickets.replies import defer
from standalone.tickets.ticket_edits import announce, done, editing, open_ticket_here, require_staff

NONE = "none"
LEVELS = (*PRIORITY_EMOJI, NONE)


async def set_priority(ctx: TicketContext, inter: Interaction[Any], level: str) -> None:
    """Set (or clear, with ``none``) the priority of the ticket of this channel."""
    if level not in LEVELS:
        raise TicketError(Text("staff.priority_unknown", levels=", ".join(LEVELS)))
    wanted = None if level == NONE else level
    ticket = await open_ticket_here(ctx, inter)
    await require_staff(ctx, inter, ticket)
    if ticket.priority == wanted:
        raise TicketError(Text("staff.priority_same", level=Text(f"staff.level_{level}")))
    await defer(inter)
    async with editing(ctx, inter, ticket) as before:
        if before.priority == wanted:
            raise TicketError(Text("staff.priority_same", level=Text(f"staff.level_{level}")))
        reason = f"Ticket #{before.number} priority {level} by {inter.author.id}"
        await rename(ctx, before, with_priority(await current_name(ctx, before), wanted), reason)
        await announce(
            ctx,
            before,
            Text(
                "staff.priority_notice",
                actor=inter.author.mention,
                level=Text(f"staff.level_{level}"),
            ),
        )
        after = await TicketStaffRepository(ctx.tickets.database, ctx.tenant).set_priority(
            before, wanted
        )
    await done(
        ctx, inter, before, after, Text("staff.priority_set", level=Text(f"staff.level_{level}"))
    )
