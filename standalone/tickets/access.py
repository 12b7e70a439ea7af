"""Who may see a ticket's transcript or reopen it, also from a DM where Discord says little."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.interactions.base import Interaction

from standalone.db.records import Category, Ticket
from standalone.i18n import Text
from standalone.tickets.context import TicketContext, is_staff
from standalone.tickets.errors import TicketError

_ADMIN_BITS = disnake.Permissions(administrator=True, manage_guild=True).value


async def staff_by_rest(
    ctx: TicketContext, guild_id: str, user_id: str, category: Category | None
) -> bool:
    """Admin of the guild, or holds a staff role of ``category``, as Discord says now."""
    try:
        member = await ctx.bot.http.get_member(int(guild_id), int(user_id))
        roles = {str(r) for r in member.get("roles", [])}
        if category is not None and roles & set(category.staff_roles):
            return True
        guild = await ctx.bot.http.get_guild(int(guild_id), with_counts=False)
        if str(guild.get("owner_id")) == user_id:
            return True
        roles.add(guild_id)  # @everyone
        return any(
            int(role.get("permissions", 0)) & _ADMIN_BITS
            for role in await ctx.bot.http.get_roles(int(guild_id))
            if str(role["id"]) in roles
        )
    except (disnake.NotFound, disnake.Forbidden):
        # Not a member (any more), or the bot left that server: no standing there.
        return False


async def require_ticket_access(
    ctx: TicketContext,
    inter: Interaction[Any],
    ticket: Ticket,
    category: Category | None,
    doing: Text,
) -> None:
    """The creator, staff of the ticket's category, or an admin of its server; else refuse."""
    user = str(inter.author.id)
    if user == ticket.creator_id:
        return
    if inter.guild_id is not None and str(inter.guild_id) == ticket.guild_id:
        allowed = is_staff(inter, category)
    else:
        allowed = await staff_by_rest(ctx, ticket.guild_id, user, category)
    if not allowed:
        raise TicketError(Text("access.refused", number=ticket.number, doing=doing))
