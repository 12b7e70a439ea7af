"""Renaming a ticket's channel within Discord's budget: two renames per ten minutes.

Discord answers a third rename of a channel within ten minutes with a 429 asking
to wait for minutes, which disnake (and our limiter) would sleep through with an
interaction waiting. So the bot counts its own renames of each channel in the
coordination cache, shared by every process, and refuses early with the time to
wait; a 429 it did not foresee (someone renamed the channel by hand) is turned into
the same refusal. ``/rename`` and ``/priority`` share the budget. Callers hold the
ticket's edit lock, so the count is read and written by one process at a time.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
from disnake.interactions.base import Interaction

from standalone import keys
from standalone.db.records import Ticket
from standalone.discord_bridge import patch_channel_once
from standalone.i18n import Text
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import defer
from standalone.tickets.ticket_edits import (
    announce,
    done,
    editing,
    forget,
    open_ticket_here,
    require_staff,
    start,
    started,
)

RENAMES_PER_WINDOW = 2
WINDOW_S = 600.0
MAX_NAME = 100

PRIORITY_EMOJI = {"low": "🟢", "medium": "🟠", "high": "🔴"}


def strip_priority(name: str) -> str:
    """A channel name without the priority emoji in front of it."""
    while name and name[0] in PRIORITY_EMOJI.values():
        name = name[1:]
    return name


def with_priority(base: str, priority: str | None) -> str:
    """``base`` behind the emoji of ``priority`` (none: the name alone)."""
    return f"{PRIORITY_EMOJI.get(priority or '', '')}{strip_priority(base)}"[:MAX_NAME]


def as_discord_shows(name: str, thread: bool) -> str:
    """Text channel names are lower case with dashes for spaces; thread names are kept."""
    if thread:
        return name.strip()
    return "-".join(name.strip().lower().replace("-", " ").split())


def wait_text(seconds: float) -> Text:
    """The refusal that names how many minutes are left."""
    return Text("staff.rename_wait", count=max(1, math.ceil(seconds / 60)))


async def current_name(ctx: TicketContext, ticket: Ticket) -> str:
    """The channel's name as Discord has it now."""
    assert ticket.channel_id is not None
    channel = await ctx.bot.http.get_channel(int(ticket.channel_id))
    return str(channel.get("name") or "")


async def rename(ctx: TicketContext, ticket: Ticket, name: str, reason: str) -> bool:
    """Rename the ticket's channel; False when it already has that name.

    Raises TicketError when the budget is spent, naming the minutes left.
    """
    assert ticket.channel_id is not None
    if as_discord_shows(name, ticket.thread) == await current_name(ctx, ticket):
        return False  # a redelivery, or nothing to change
    key = keys.channel_renames(ctx.tenant, ticket.channel_id)
    now = ctx.clock().timestamp()
    raw = await ctx.cache.get(key)
    stamps = msgspec.json.decode(raw, type=list[float]) if raw else []
    recent = sorted(at for at in stamps if at > now - WINDOW_S)
    if len(recent) >= RENAMES_PER_WINDOW:
        raise TicketError(wait_text(recent[-RENAMES_PER_WINDOW] + WINDOW_S - now))
    retry_after = await patch_channel_once(
        ctx.bot.http, int(ticket.channel_id), {"name": name}, reason=reason
    )
    if retry_after is not None:
        # Discord counts renames we did not make: the budget is spent until it says.
        recent = [now + retry_after - WINDOW_S] * RENAMES_PER_WINDOW
        await _save(ctx, key, recent)
        raise TicketError(wait_text(retry_after))
    await _save(ctx, key, [*recent, now])
    return True


async def _save(ctx: TicketContext, key: str, stamps: list[float]) -> None:
    await ctx.cache.set(key, msgspec.json.encode(stamps), ttl_ms=int(WINDOW_S * 1000))


async def rename_ticket(ctx: TicketContext, inter: Interaction[Any], name: str) -> None:
    """``/rename``: a new name for the ticket's channel, keeping its priority emoji."""
    ticket = await open_ticket_here(ctx, inter)
    earlier = await started(ctx, inter)
    # A redelivery is judged by the ticket as it was (a move changes who is staff).
    await require_staff(ctx, inter, earlier or ticket)
    wanted = strip_priority(" ".join(name.split()))
    if not 1 <= len(wanted) <= MAX_NAME - 1:
        raise TicketError(Text("staff.rename_length", max=MAX_NAME - 1))
    await defer(inter)
    async with editing(ctx, inter, ticket) as current:
        new_name = with_priority(wanted, current.priority)
        reason = f"Ticket #{current.number} renamed by {inter.author.id}"
        before = await start(ctx, inter, current)
        old_name = await current_name(ctx, current)
        if not await rename(ctx, current, new_name, reason) and earlier is None:
            await forget(ctx, inter)  # nothing was changed: no retry should act on it
            raise TicketError(Text("staff.rename_same"))
        shown = as_discord_shows(new_name, current.thread)
        notice = Text("staff.renamed_notice", actor=inter.author.mention, name=shown)
        await announce(ctx, current, notice)
    await done(
        ctx, inter, before, current, Text("staff.renamed", name=shown), renamed=(old_name, shown)
    )
