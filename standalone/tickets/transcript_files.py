"""A closed ticket's transcript as the files a person downloads (HTML, and text when kept)."""

from __future__ import annotations

import io

import disnake

from standalone import keys
from standalone.db.records import Ticket
from standalone.tickets.context import TicketContext


async def transcript_files(ctx: TicketContext, ticket: Ticket) -> list[disnake.File]:
    """The transcript's files; the ticket must be closed with a transcript."""
    assert ticket.transcript_key is not None
    number = ticket.number
    files = [
        disnake.File(
            io.BytesIO(await ctx.store.get(ticket.transcript_key)),
            filename=f"ticket-{number}.html",
        )
    ]
    text_key = keys.transcript_text(ticket.guild_id, number)
    if await ctx.store.exists(text_key):
        files.append(
            disnake.File(io.BytesIO(await ctx.store.get(text_key)), f"ticket-{number}.txt")
        )
    return files
