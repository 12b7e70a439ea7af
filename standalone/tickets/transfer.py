"""``/transfer``: the ticket changes hands; the new owner is its creator from now on.

The new creator gets the creator's access; the previous one loses theirs unless
they were also added to the ticket or claimed it. Staff only (Discord Tickets v4
let anyone in the ticket give it away).
"""

from __future__ import annotations

from typing import Any

import disnake
from disnake.interactions.base import Interaction

from standalone.i18n import Text
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.members import grant, revoke
from standalone.tickets.replies import defer
from standalone.tickets.ticket_edits import (
    announce,
    done,
    editing,
    member_of_guild,
    open_ticket_here,
    require_staff,
    start,
    started,
)


async def transfer(
    ctx: TicketContext, inter: Interaction[Any], user: disnake.User | disnake.Member
) -> None:
    """Give the ticket of this channel to ``user``."""
    ticket = await open_ticket_here(ctx, inter)
    earlier = await started(ctx, inter)
    # A redelivery is judged by the ticket as it was (a move changes who is staff).
    await require_staff(ctx, inter, earlier or ticket)
    member = member_of_guild(user)
    target = str(member.id)
    if earlier is None and target == ticket.creator_id:
        raise TicketError(Text("staff.transfer_same", user=member.mention))
    await defer(inter)
    async with editing(ctx, inter, ticket) as current:
        if earlier is None and target == current.creator_id:
            raise TicketError(Text("staff.transfer_same", user=member.mention))
        # A redelivery takes the creator and members from before its first try.
        before = await start(ctx, inter, current)
        assert current.channel_id is not None
        reason = f"Ticket #{current.number} given to {target} by {inter.author.id}"
        previous = before.creator_id
        await grant(ctx, current.channel_id, current.thread, target, reason)
        if previous not in before.added_members and previous != current.claimed_by:
            await revoke(ctx, current.channel_id, current.thread, previous, reason)
        await announce(
            ctx,
            current,
            Text(
                "staff.transferred_notice",
                actor=inter.author.mention,
                user=member.mention,
                previous=f"<@{previous}>",
            ),
        )
        after = await ctx.tickets.update_fields(
            current,
            creator_id=target,
            added_members=[m for m in current.added_members if m != target],
        )
    await done(ctx, inter, before, after, Text("staff.transferred", user=member.mention))
