"""``/add`` and ``/remove``: a member joins or leaves one ticket.

Only staff of the ticket's category or an admin may (Discord Tickets v4 let anyone
in the ticket add people). A channel ticket gives the member their own permission
overwrite; a thread ticket adds them to the private thread. ``Ticket.added_members``
keeps the list, which claims, moves and transfers respect. The creator cannot be
removed, and a removed member who claimed the ticket keeps the claimer's access.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import disnake
from disnake.interactions.base import Interaction

from standalone.i18n import Text
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
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
from standalone.tickets.views import TICKET_MEMBER_PERMISSIONS

MEMBER_OVERWRITE: Literal[1] = 1


async def grant(
    ctx: TicketContext, channel_id: str, thread: bool, user_id: str, reason: str
) -> None:
    """Let a member see and write in a ticket (set to a value: safe to repeat)."""
    http = ctx.bot.http
    if thread:
        await http.add_user_to_thread(int(channel_id), int(user_id))
        return
    allow = TICKET_MEMBER_PERMISSIONS.value
    await http.edit_channel_permissions(
        int(channel_id), user_id, allow, 0, MEMBER_OVERWRITE, reason=reason
    )


async def revoke(
    ctx: TicketContext, channel_id: str, thread: bool, user_id: str, reason: str
) -> None:
    """Take a member's own access to a ticket away (gone already is fine)."""
    http = ctx.bot.http
    with contextlib.suppress(disnake.NotFound):
        if thread:
            await http.remove_user_from_thread(int(channel_id), int(user_id))
        else:
            await http.delete_channel_permissions(int(channel_id), user_id, reason=reason)


class Members:
    """Adds members to tickets and removes them."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    async def add(self, inter: Interaction[Any], user: disnake.User | disnake.Member) -> None:
        """Give ``user`` access to the ticket of this channel."""
        ctx = self.ctx
        ticket = await open_ticket_here(ctx, inter)
        earlier = await started(ctx, inter)
        # A redelivery is judged by the ticket as it was (a move changes who is staff).
        await require_staff(ctx, inter, earlier or ticket)
        member = member_of_guild(user)
        target = str(member.id)
        if target == ticket.creator_id:
            raise TicketError(Text("staff.add_creator", user=member.mention))
        if earlier is None and target in ticket.added_members:
            raise TicketError(Text("staff.already_added", user=member.mention))
        await defer(inter)
        async with editing(ctx, inter, ticket) as current:
            if earlier is None and target in current.added_members:
                raise TicketError(Text("staff.already_added", user=member.mention))
            before = await start(ctx, inter, current)
            assert current.channel_id is not None
            reason = f"Added to ticket #{current.number} by {inter.author.id}"
            await grant(ctx, current.channel_id, current.thread, target, reason)
            notice = Text("staff.added_notice", actor=inter.author.mention, user=member.mention)
            await announce(ctx, current, notice)
            after = current
            if target not in current.added_members:
                after = await ctx.tickets.update_fields(
                    current, added_members=[*current.added_members, target]
                )
        await done(ctx, inter, before, after, Text("staff.added", user=member.mention))

    async def remove(self, inter: Interaction[Any], user: disnake.User | disnake.Member) -> None:
        """Take ``user``'s access to the ticket of this channel away."""
        ctx = self.ctx
        ticket = await open_ticket_here(ctx, inter)
        earlier = await started(ctx, inter)
        # A redelivery is judged by the ticket as it was (a move changes who is staff).
        await require_staff(ctx, inter, earlier or ticket)
        target = str(user.id)
        mention = f"<@{target}>"
        if target == ticket.creator_id:
            raise TicketError(Text("staff.remove_creator"))
        if earlier is None and target not in ticket.added_members:
            raise TicketError(Text("staff.not_added", user=mention))
        await defer(inter)
        async with editing(ctx, inter, ticket) as current:
            if earlier is None and target not in current.added_members:
                raise TicketError(Text("staff.not_added", user=mention))
            before = await start(ctx, inter, current)
            assert current.channel_id is not None
            if target != current.claimed_by:
                reason = f"Removed from ticket #{current.number} by {inter.author.id}"
                await revoke(ctx, current.channel_id, current.thread, target, reason)
            notice = Text("staff.removed_notice", actor=inter.author.mention, user=mention)
            await announce(ctx, current, notice)
            after = current
            if target in current.added_members:
                after = await ctx.tickets.update_fields(
                    current, added_members=[m for m in current.added_members if m != target]
                )
        await done(ctx, inter, before, after, Text("staff.removed", user=mention))
