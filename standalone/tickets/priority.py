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
from standalone.tickets.ticket_edits import (
    announce,
    done,
    editing,
    open_ticket_here,
    require_staff,
    start,
    started,
)

NONE = "none"
LEVELS = (*PRIORITY_EMOJI, NONE)


async def set_priority(ctx: TicketContext, inter: Interaction[Any], level: str) -> None:
    """Set (or clear, with ``none``) the priority of the ticket of this channel."""
    if level not in LEVELS:
        raise TicketError(Text("staff.priority_unknown", levels=", ".join(LEVELS)))
    wanted = None if level == NONE else level
    name = Text(f"staff.level_{level}")
    ticket = await open_ticket_here(ctx, inter)
    earlier = await started(ctx, inter)
    # A redelivery is judged by the ticket as it was (a move changes who is staff).
    await require_staff(ctx, inter, earlier or ticket)
    if earlier is None and ticket.priority == wanted:
        raise TicketError(Text("staff.priority_same", level=name))
    await defer(inter)
    async with editing(ctx, inter, ticket) as current:
        if earlier is None and current.priority == wanted:
            raise TicketError(Text("staff.priority_same", level=name))
        before = await start(ctx, inter, current)
        reason = f"Ticket #{current.number} priority {level} by {inter.author.id}"
        await rename(ctx, current, with_priority(await current_name(ctx, current), wanted), reason)
        notice = Text("staff.priority_notice", actor=inter.author.mention, level=name)
        await announce(ctx, current, notice)
        repo = TicketStaffRepository(ctx.tickets.database, ctx.tenant)
        after = await repo.set_priority(current, wanted)
    await done(ctx, inter, before, after, Text("staff.priority_set", level=name))
