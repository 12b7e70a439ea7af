"""``/tickets`` lists a member's tickets; ``/transcript`` hands over a closed one's transcript."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone.db.records import Category, Ticket
from standalone.i18n import Text, localised
from standalone.tickets import autocomplete
from standalone.tickets.access import require_ticket_access
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_any_staff
from standalone.tickets.errors import TicketError
from standalone.tickets.force_close import parse_number
from standalone.tickets.replies import NO_PINGS, defer, reader_locale
from standalone.tickets.transcript_files import transcript_files

GUILD_ONLY = disnake.InteractionContextTypes(guild=True)
RECENT_CLOSED = 10
OPEN_SHOWN = 15
TOPIC_SHOWN = 30
FIELD_LIMIT = 1024  # Discord's limit for one embed field's value


def fit(lines: list[str], limit: int = FIELD_LIMIT) -> str:
    """As many whole lines as fit in ``limit`` characters, with "…" when some were left out."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit - 2:
            kept.append("…")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def _plain(text: str) -> str:
    """A topic shown inside a list: one line, no markdown that could break the list."""
    return disnake.utils.escape_markdown(" ".join(text.split()))[:TOPIC_SHOWN]


class Listing:
    """The member-facing views of tickets: the list and the transcripts."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    def cog(self) -> commands.Cog:
        """``/tickets`` and ``/transcript``."""
        return ListingCommands(self)

    async def list_tickets(
        self, inter: ApplicationCommandInteraction[Any], member: disnake.Member | None
    ) -> None:
        """The open and the latest closed tickets of the caller, or (for staff) of a member."""
        if inter.guild_id is None:
            raise TicketError(Text("listing.guild_only"))
        guild = str(inter.guild_id)
        whose = str(member.id) if member is not None else str(inter.author.id)
        categories = {c.key: c for c in await self.ctx.settings.categories(guild)}
        if whose != str(inter.author.id) and not is_any_staff(inter, list(categories.values())):
            raise TicketError(Text("listing.others_staff_only"))
        await defer(inter)
        seen = await autocomplete.visible_tickets(
            self.ctx, inter, member=whose, states=("opening", "open", "closing", "closed")
        )
        active = [t for t in seen if t.state != "closed"]
        closed = [t for t in seen if t.state == "closed"][:RECENT_CLOSED]
        locale = reader_locale(inter, await self.ctx.guild_locale(guild))
        embed = disnake.Embed(
            title=Text("listing.title", member=f"@{member.display_name}" if member else "")
            .render(locale)
            .strip(),
            colour=disnake.Colour((await self.ctx.guild_settings(guild)).colour),
        )
        embed.add_field(
            Text("listing.open", count=len(active)).render(locale),
            fit([self._open_line(t) for t in active[:OPEN_SHOWN]])
            or Text("listing.none").render(locale),
            inline=False,
        )
        embed.add_field(
            Text("listing.closed", count=len(closed)).render(locale),
            fit([self._closed_line(t, categories.get(t.category)) for t in closed])
            or Text("listing.none").render(locale),
            inline=False,
        )
        if closed:
            embed.set_footer(text=Text("listing.transcript_hint").render(locale))
        await inter.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    def _topic(self, ticket: Ticket) -> str:
        return _plain(self.ctx.cipher.decrypt(ticket.topic)) if ticket.topic else ""

    def _open_line(self, ticket: Ticket) -> str:
        where = f"<#{ticket.channel_id}>" if ticket.channel_id else f"#{ticket.number}"
        return f"{where} {self._topic(ticket)}".strip()

    def _closed_line(self, ticket: Ticket, category: Category | None) -> str:
        name = _plain(category.name) if category is not None else "?"
        when = f" <t:{int(ticket.closed_at.timestamp())}:d>" if ticket.closed_at else ""
        return f"{name} #{ticket.number}{when} {self._topic(ticket)}".strip()

    async def transcript(self, inter: ApplicationCommandInteraction[Any], ticket: str) -> None:
        """The transcript files of a closed ticket, for its creator, its staff and admins."""
        if inter.guild_id is None:
            raise TicketError(Text("listing.guild_only"))
        guild = str(inter.guild_id)
        try:
            number = parse_number(ticket)
        except TicketError:
            raise TicketError(Text("listing.not_a_number", text=ticket.strip()[:20])) from None
        found = await self.ctx.tickets.get(guild, number)
        if found is None:
            raise TicketError(Text("listing.no_such_ticket", number=number))
        category = await self.ctx.category_of(found)
        try:
            await require_ticket_access(
                self.ctx, inter, found, category, Text("closing.see_transcript")
            )
        except TicketError:
            raise TicketError(Text("listing.no_access", number=number)) from None
        if found.state != "closed" or found.transcript_key is None:
            raise TicketError(Text("listing.still_open", number=number))
        await defer(inter)
        files = await transcript_files(self.ctx, found)
        locale = reader_locale(inter, await self.ctx.guild_locale(guild))
        await inter.followup.send(
            Text("listing.transcript", number=number).render(locale),
            files=files,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


class ListingCommands(FeatureCog):
    """``/tickets`` and ``/transcript``."""

    def __init__(self, listing: Listing) -> None:
        self.listing = listing

    @commands.slash_command(
        name=localised("cmd_tags.tickets.name"),
        description=localised("cmd_tags.tickets.description"),
        contexts=GUILD_ONLY,
    )
    async def tickets(
        self,
        inter: ApplicationCommandInteraction[Any],
        member: disnake.Member | None = commands.Param(
            default=None,
            name=localised("cmd_tags.tickets.member.name"),
            description=localised("cmd_tags.tickets.member.description"),
        ),
    ) -> None:
        await self.listing.list_tickets(inter, member)

    @commands.slash_command(
        name=localised("cmd_tags.transcript.name"),
        description=localised("cmd_tags.transcript.description"),
        contexts=GUILD_ONLY,
    )
    async def transcript(
        self,
        inter: ApplicationCommandInteraction[Any],
        ticket: str = commands.Param(
            name=localised("cmd_tags.transcript.ticket.name"),
            description=localised("cmd_tags.transcript.ticket.description"),
            max_length=100,
        ),
    ) -> None:
        await self.listing.transcript(inter, ticket)

    @transcript.autocomplete("ticket")
    async def _tickets(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> list[disnake.OptionChoice]:
        # The caller's own closed tickets; staff type another member's number.
        return await autocomplete.tickets(self.listing.ctx, inter, text, states=("closed",))
