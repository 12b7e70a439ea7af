"""Suggestions for category, ticket, reference and tag options, from what the person typed.

What was typed is plain text: compared casefolded as a substring, never compiled
as a pattern or put into a query, so ``.*``, ``(``, ``%`` or ``'`` are just
characters. Discord takes at most 25 choices, each name and value 1 to 100 characters.
"""

from __future__ import annotations

from typing import Any

import disnake
from disnake.interactions.base import Interaction

from standalone.db.records import Category, Ticket
from standalone.db.tags import TagRepository
from standalone.tickets.context import TicketContext, is_admin, is_staff

MAX_CHOICES = 25
MAX_TEXT = 100
TOPIC_SHOWN = 50


def fold(text: str) -> str:
    """Text as compared: casefolded, spaces around it dropped."""
    return text.strip().casefold()


def found(typed: str, *fields: str) -> bool:
    """Whether ``typed`` occurs in any of ``fields`` (an empty input matches everything)."""
    needle = fold(typed)
    return not needle or any(needle in fold(field) for field in fields)


def choice(name: str, value: str) -> disnake.OptionChoice:
    """A choice cut to Discord's limits (a name may not be empty)."""
    return disnake.OptionChoice(name=(name.strip() or value)[:MAX_TEXT], value=value[:MAX_TEXT])


def _ranked(typed: str, named: list[tuple[str, str]]) -> list[disnake.OptionChoice]:
    """Matches whose name starts with the input first, then the others, at most 25."""
    needle = fold(typed)
    hits = [(name, value) for name, value in named if found(typed, name)]
    hits.sort(key=lambda hit: not fold(hit[0]).startswith(needle))
    return [choice(name, value) for name, value in hits[:MAX_CHOICES]]


async def categories(
    ctx: TicketContext, guild_id: str | int | None, text: str, *, exclude: str | None = None
) -> list[disnake.OptionChoice]:
    """The guild's categories whose name contains ``text``; the value is the category key."""
    if guild_id is None:
        return []
    every = await ctx.settings.categories(str(guild_id))
    return _ranked(text, [(c.name, c.key) for c in every if c.key != exclude])


def ticket_label(ticket: Ticket, category: Category | None, topic: str) -> str:
    """``Billing #12 - printer on fire``: what a person recognises a ticket by."""
    name = category.name if category is not None else "?"
    return f"{name} #{ticket.number} - {topic[:TOPIC_SHOWN]}".strip(" -")


async def visible_tickets(
    ctx: TicketContext,
    inter: Interaction[Any],
    *,
    member: str | None = None,
    states: tuple[str, ...] = ("open", "closed"),
) -> list[Ticket]:
    """Tickets of this guild the caller may see, newest first.

    Their own; with ``member``, that member's (for staff: only in categories they
    handle, unless admin). A member who names someone else sees nothing.
    """
    if inter.guild_id is None:
        return []
    guild = str(inter.guild_id)
    caller = str(inter.author.id)
    whose = member or caller
    tickets = await ctx.tickets.of_member(guild, whose, states=states)
    if whose == caller or is_admin(inter):
        return tickets
    by_key = {c.key: c for c in await ctx.settings.categories(guild)}
    return [t for t in tickets if by_key.get(t.category) and is_staff(inter, by_key[t.category])]


async def tickets(
    ctx: TicketContext,
    inter: Interaction[Any],
    text: str,
    *,
    member: str | None = None,
    states: tuple[str, ...] = ("open", "closed"),
) -> list[disnake.OptionChoice]:
    """Tickets the caller may see, found by number, category or topic; the value is the number."""
    if inter.guild_id is None:
        return []
    by_key = {c.key: c for c in await ctx.settings.categories(str(inter.guild_id))}
    typed = text.strip().lstrip("#")
    named: list[tuple[str, str]] = []
    for ticket in await visible_tickets(ctx, inter, member=member, states=states):
        topic = ctx.cipher.decrypt(ticket.topic) if ticket.topic else ""
        label = ticket_label(ticket, by_key.get(ticket.category), topic)
        if found(typed, label, str(ticket.number)):
            named.append((label, str(ticket.number)))
        if len(named) == MAX_CHOICES:
            break
    return [choice(name, value) for name, value in named]


async def tags(
    ctx: TicketContext, guild_id: str | int | None, text: str
) -> list[disnake.OptionChoice]:
    """The guild's tags whose name contains ``text``; the value is the tag key."""
    if guild_id is None:
        return []
    every = await TagRepository(ctx.tickets.database, ctx.tenant).list(str(guild_id))
    return _ranked(text, [(t.name, t.key) for t in every])
