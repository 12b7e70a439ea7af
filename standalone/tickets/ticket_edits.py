"""What every staff tool shares: which ticket, who may, one change at a time, notice and log.

Each tool changes Discord first and the ticket's record last. Before its first
step it keeps the ticket as it was under the interaction's id (``started``), so
a redelivery of an interaction that died half-way skips the "already done"
refusals, repeats the Discord steps that set values (overwrites, names, pins;
harmless), posts the notice only if the bot's latest message is not already it,
and logs the change against the record as it was before, not as it left it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import disnake
import msgspec
from disnake.interactions.base import Interaction

from standalone import keys
from standalone.db.records import Category, Ticket
from standalone.i18n import Text
from standalone.tickets.audit import ticket_updated
from standalone.tickets.context import TicketContext, is_staff
from standalone.tickets.errors import TicketError
from standalone.tickets.locks import Busy, held
from standalone.tickets.replies import NO_PINGS, reply

EDIT_LOCK_TTL_MS = 30_000
EDIT_LOCK_WAIT_S = 15.0
# Redeliveries come within minutes; a day covers a long outage of the workers.
CHANGE_TTL_MS = 24 * 3600 * 1000


async def open_ticket_here(ctx: TicketContext, inter: Interaction[Any]) -> Ticket:
    """The open ticket of this channel; refuses outside a ticket or once it is closing."""
    ticket = await ctx.ticket_here(inter)
    if ticket.state != "open":
        raise TicketError(Text("staff.not_open"))
    return ticket


def category_name(category: Category | None) -> str:
    """The category's name for a message, or a dash when it was deleted."""
    return category.name if category is not None else "—"


async def require_staff(
    ctx: TicketContext, inter: Interaction[Any], ticket: Ticket
) -> Category | None:
    """Staff of the ticket's category or an admin; refuses everyone else."""
    category = await ctx.category_of(ticket)
    if not is_staff(inter, category):
        raise TicketError(Text("staff.staff_only", category=category_name(category)))
    return category


async def require_creator_or_staff(
    ctx: TicketContext, inter: Interaction[Any], ticket: Ticket
) -> Category | None:
    """The ticket's creator, staff of its category or an admin; refuses everyone else."""
    category = await ctx.category_of(ticket)
    if str(inter.author.id) != ticket.creator_id and not is_staff(inter, category):
        raise TicketError(Text("staff.creator_or_staff"))
    return category


@contextlib.asynccontextmanager
async def editing(
    ctx: TicketContext, inter: Interaction[Any], ticket: Ticket
) -> AsyncIterator[Ticket]:
    """Hold the ticket's edit lock and give its record as it is now (still open)."""
    key = keys.ticket_edit_lock(ctx.tenant, ticket.guild_id, ticket.number)
    try:
        async with held(
            ctx.cache, key, str(inter.id), ttl_ms=EDIT_LOCK_TTL_MS, wait_s=EDIT_LOCK_WAIT_S
        ):
            fresh = await ctx.tickets.get(ticket.guild_id, ticket.number)
            if fresh is None or fresh.state != "open":
                raise TicketError(Text("staff.not_open"))
            yield fresh
    except Busy:
        raise TicketError(Text("staff.busy")) from None


async def started(ctx: TicketContext, inter: Interaction[Any]) -> Ticket | None:
    """The ticket as it was when an earlier delivery of this interaction began changing it."""
    raw = await ctx.cache.get(keys.staff_change(ctx.tenant, inter.id))
    return None if raw is None else msgspec.json.decode(raw, type=Ticket)


async def start(ctx: TicketContext, inter: Interaction[Any], current: Ticket) -> Ticket:
    """Remember the ticket before this interaction's first change; returns that ticket."""
    earlier = await started(ctx, inter)
    if earlier is not None:
        return earlier
    key = keys.staff_change(ctx.tenant, inter.id)
    await ctx.cache.set(key, msgspec.json.encode(current), ttl_ms=CHANGE_TTL_MS)
    return current


async def forget(ctx: TicketContext, inter: Interaction[Any]) -> None:
    """This interaction changed nothing after all (refused, or nothing to change)."""
    await ctx.cache.delete(keys.staff_change(ctx.tenant, inter.id))


def member_of_guild(user: disnake.User | disnake.Member) -> disnake.Member:
    """The member an option named; refuses users outside the server and bots."""
    if not isinstance(user, disnake.Member):
        raise TicketError(Text("staff.not_a_member", user=f"<@{user.id}>"))
    if user.bot:
        raise TicketError(Text("staff.no_bots"))
    return user


async def announce(ctx: TicketContext, ticket: Ticket, text: Text) -> None:
    """Tell everyone in the ticket, in the guild's language, unless already said last."""
    assert ticket.channel_id is not None
    channel = int(ticket.channel_id)
    content = text.render(await ctx.guild_locale(ticket.guild_id))
    for message in await ctx.bot.http.logs_from(channel, 10):
        if str(message["author"]["id"]) == str(ctx.bot_id):
            if str(message.get("content") or "") == content:
                return  # an earlier delivery of this change posted it
            break
    await ctx.bot.get_partial_messageable(channel).send(content, allowed_mentions=NO_PINGS)


async def done(
    ctx: TicketContext,
    inter: Interaction[Any],
    before: Ticket,
    after: Ticket,
    answer: Text,
    *,
    renamed: tuple[str, str] | None = None,
) -> None:
    """Log the change to the guild's log channel and answer the person who made it."""
    await ticket_updated(ctx, before, after, str(inter.author.id), str(inter.id), renamed=renamed)
    await reply(inter, answer)
