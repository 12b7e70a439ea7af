"""``/move``: a ticket changes category, keeping its members and its claim.

Discord Tickets v4 moved a ticket by syncing the channel to the new parent's
permissions, which dropped added members and undid a claim. Here the staff roles
of the old category lose their overwrites, those of the new one get theirs (denied
View while the ticket is claimed: the claimer keeps their own), and the channel
moves under the new category's Discord category. Thread tickets live in a channel
of their category and Discord cannot move a thread, so they stay where they are.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import disnake
from disnake.interactions.base import Interaction

from standalone.db.records import Category, Ticket
from standalone.db.ticket_staff import TicketStaffRepository
from standalone.i18n import Text
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
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
from standalone.tickets.views import TICKET_MEMBER_PERMISSIONS

ROLE_OVERWRITE: Literal[0] = 0
VIEW = disnake.Permissions(view_channel=True).value
MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices


def matching(categories: list[Category], typed: str) -> dict[str, str]:
    """Autocomplete: categories whose name contains the typed text (plain text, any case)."""
    needle = typed.casefold()
    found = [c for c in categories if needle in c.name.casefold()]
    return {c.name[:100]: c.key for c in found[:MAX_CHOICES]}


def pick(categories: list[Category], typed: str) -> Category | None:
    """The category a person chose: its key (from autocomplete) or its exact name."""
    wanted = typed.strip().casefold()
    for category in categories:
        if category.key == typed or category.name.casefold() == wanted:
            return category
    return None


async def category_choices(
    ctx: TicketContext, inter: Interaction[Any], typed: str
) -> dict[str, str]:
    """The guild's categories for ``/move``'s autocomplete."""
    if inter.guild_id is None:
        return {}
    return matching(await ctx.settings.categories(str(inter.guild_id)), typed)


async def move(ctx: TicketContext, inter: Interaction[Any], typed: str) -> None:
    """Move the ticket of this channel to the category ``typed`` names."""
    ticket = await open_ticket_here(ctx, inter)
    earlier = await started(ctx, inter)
    # A redelivery is judged by the ticket as it was (a move changes who is staff).
    await require_staff(ctx, inter, earlier or ticket)
    target = pick(await ctx.settings.categories(ticket.guild_id), typed)
    if target is None:
        raise TicketError(Text("staff.no_such_category", name=typed[:100]))
    if earlier is None:
        _check_target(ticket, target)
        open_there = await ctx.tickets.count_open_in_category(ticket.guild_id, target.key)
        if open_there >= target.total_limit:
            raise TicketError(Text("staff.move_full", category=target.name))
    await defer(inter)
    async with editing(ctx, inter, ticket) as current:
        if earlier is None:
            _check_target(current, target)
        # A redelivery takes the old category from before its first try.
        before = await start(ctx, inter, current)
        old = await ctx.settings.category(before.guild_id, before.category)
        reason = f"Ticket #{current.number} moved by {inter.author.id}"
        await _move_channel(ctx, current, old, target, reason)
        notice = Text("staff.moved_notice", actor=inter.author.mention, category=target.name)
        await announce(ctx, current, notice)
        after = await TicketStaffRepository(ctx.tickets.database, ctx.tenant).set_category(
            current, target.key
        )
    await done(ctx, inter, before, after, Text("staff.moved", category=target.name))


def _check_target(ticket: Ticket, target: Category) -> None:
    if target.key == ticket.category:
        raise TicketError(Text("staff.move_same", category=target.name))
    if ticket.thread or target.mode == "thread":
        raise TicketError(Text("staff.move_thread"))


async def _move_channel(
    ctx: TicketContext, ticket: Ticket, old: Category | None, target: Category, reason: str
) -> None:
    assert ticket.channel_id is not None
    channel = int(ticket.channel_id)
    http = ctx.bot.http
    new_roles = set(target.staff_roles)
    for role in (set(old.staff_roles) if old else set()) - new_roles:
        with contextlib.suppress(disnake.NotFound):
            await http.delete_channel_permissions(channel, role, reason=reason)
    allow, deny = (0, VIEW) if ticket.claimed_by else (TICKET_MEMBER_PERMISSIONS.value, 0)
    for role in target.staff_roles:
        await http.edit_channel_permissions(
            channel, role, allow, deny, ROLE_OVERWRITE, reason=reason
        )
    parent = int(target.discord_category) if target.discord_category else None
    current = await http.get_channel(channel)
    if str(current.get("parent_id")) != str(parent):
        try:
            # Without lock_permissions the channel keeps its overwrites under the new parent.
            await http.edit_channel(channel, parent_id=parent, reason=reason)
        except disnake.HTTPException as exc:
            if exc.status == 400:
                raise TicketError(Text("staff.move_parent_refused", category=target.name)) from None
            raise
