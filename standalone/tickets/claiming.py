"""Claiming a ticket: one staff member takes it and the other staff stop seeing it.

Who may claim: staff of the ticket's category, or an admin, and only when the
category allows claiming (Discord Tickets v4's ``/claim`` ignored that).
Who may release: the claimer, staff of the category, or an admin.

A claim gives the claimer their own permission overwrite and denies View to
every staff role of the category (admins see every channel anyway); a release
puts the staff roles' overwrites back as the ticket was opened with and drops
the claimer's own one unless they are the creator or an added member. Thread
tickets have no per-role overwrites: there a claim only records and announces
the claimer and adds them to the thread.

A claim writes the database first, so two staff clicking at once cannot both
win; a release changes Discord first and clears the claim last, so a retried
release still knows whose overwrite to remove. Every Discord step can be
repeated: overwrites are set to a value, the button is rebuilt from the claim,
and a notice is posted only if the channel's last claim notice is not it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal, cast

import disnake
import msgspec
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.base import Interaction

from standalone.db.activity import ActivityRepository
from standalone.db.records import Category, Ticket
from standalone.i18n import Text, localised, t
from standalone.tickets import custom_ids
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_staff
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import NO_PINGS, defer, reply
from standalone.tickets.router import ComponentRouter
from standalone.tickets.ticket_log import ticket_claimed
from standalone.tickets.views import TICKET_MEMBER_PERMISSIONS, claim_button, release_button

VIEW = disnake.Permissions(view_channel=True).value
MEMBER: Literal[1] = 1  # overwrite types
ROLE: Literal[0] = 0


def _is_claim_component(component: dict[str, Any]) -> bool:
    try:
        action, _ = custom_ids.parse(str(component.get("custom_id", "")))
    except custom_ids.BadCustomId:
        return False
    return action in {custom_ids.CLAIM, custom_ids.RELEASE}


class Claiming:
    """``/claim``, ``/release`` and their buttons."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.activity = ActivityRepository(ctx.tickets.database, ctx.tenant)

    def register(self, components: ComponentRouter) -> None:
        """Take the Claim and Release buttons."""
        components.button(custom_ids.CLAIM, self._claim_button)
        components.button(custom_ids.RELEASE, self._release_button)

    def cog(self) -> commands.Cog:
        """The slash commands of this feature."""
        return ClaimingCommands(self)

    async def _claim_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self.claim(inter, custom_ids.number(arguments))

    async def _release_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self.release(inter, custom_ids.number(arguments))

    async def _ticket(self, inter: Interaction[Any], number: int | None) -> Ticket:
        ticket = await self.ctx.ticket_here(inter)
        if number is not None and number != ticket.number:
            raise TicketError(Text("claiming.other_ticket"))
        if ticket.state != "open":
            raise TicketError(Text("claiming.not_open"))
        return ticket

    # Claim

    async def claim(self, inter: Interaction[Any], number: int | None = None) -> Ticket:
        """Claim the ticket of this channel for the person asking."""
        ticket = await self._ticket(inter, number)
        category = await self.ctx.category_of(ticket)
        if category is None:
            raise TicketError(Text("claiming.category_deleted"))
        if not category.claiming:
            raise TicketError(Text("claiming.turned_off", category=category.name))
        if not is_staff(inter, category):
            raise TicketError(Text("claiming.staff_only", category=category.name))
        me = str(inter.author.id)
        if ticket.claimed_by not in {None, me}:
            raise TicketError(Text("claiming.already_claimed", user=f"<@{ticket.claimed_by}>"))
        await defer(inter)
        ticket = await self.activity.claim(ticket, me)
        if ticket.claimed_by != me:
            if ticket.claimed_by:
                raise TicketError(Text("claiming.quicker", user=f"<@{ticket.claimed_by}>"))
            raise TicketError(Text("claiming.quicker_closed"))
        await self._hide_from_staff(ticket, category, me)
        await self._show_button(ticket, category)
        await self._notice(ticket, "claiming.claimed", f"<@{me}>")
        await ticket_claimed(self.ctx, ticket, me, str(inter.id), claimed=True)
        await reply(inter, Text("claiming.you_claimed", number=ticket.number))
        return ticket

    async def _hide_from_staff(self, ticket: Ticket, category: Category, claimer: str) -> None:
        assert ticket.channel_id is not None
        channel = int(ticket.channel_id)
        http = self.ctx.bot.http
        reason = f"Ticket #{ticket.number} claimed by {claimer}"
        if ticket.thread:
            await http.add_user_to_thread(channel, int(claimer))
            return
        allow = TICKET_MEMBER_PERMISSIONS.value
        await http.edit_channel_permissions(channel, claimer, allow, 0, MEMBER, reason=reason)
        for role in category.staff_roles:
            await http.edit_channel_permissions(channel, role, 0, VIEW, ROLE, reason=reason)

    # Release

    async def release(self, inter: Interaction[Any], number: int | None = None) -> Ticket:
        """Give the ticket of this channel back to all staff of its category."""
        ticket = await self._ticket(inter, number)
        category = await self.ctx.category_of(ticket)
        claimer = ticket.claimed_by
        if claimer is None:
            raise TicketError(Text("claiming.not_claimed"))
        if str(inter.author.id) != claimer and not is_staff(inter, category):
            raise TicketError(Text("claiming.release_refused"))
        await defer(inter)
        await self._show_to_staff(ticket, category, claimer)
        released = msgspec.structs.replace(ticket, claimed_by=None)
        await self._show_button(released, category)
        await self._notice(ticket, "claiming.released", f"<@{inter.author.id}>")
        ticket = await self.activity.release(ticket, claimer)
        await ticket_claimed(self.ctx, ticket, str(inter.author.id), str(inter.id), claimed=False)
        await reply(inter, Text("claiming.you_released", number=ticket.number))
        return ticket

    async def _show_to_staff(self, ticket: Ticket, category: Category | None, claimer: str) -> None:
        if ticket.thread:
            return  # the claimer stays in the thread, as any staff who joined it
        assert ticket.channel_id is not None
        channel = int(ticket.channel_id)
        http = self.ctx.bot.http
        reason = f"Ticket #{ticket.number} released"
        allow = TICKET_MEMBER_PERMISSIONS.value
        for role in category.staff_roles if category else []:
            await http.edit_channel_permissions(channel, role, allow, 0, ROLE, reason=reason)
        if claimer != ticket.creator_id and claimer not in ticket.added_members:
            with contextlib.suppress(disnake.NotFound):
                await http.delete_channel_permissions(channel, claimer, reason=reason)

    # The opening message and the notice

    async def _show_button(self, ticket: Ticket, category: Category | None) -> None:
        """Make the opening message's Claim/Release button match the claim."""
        if ticket.opening_message_id is None or ticket.channel_id is None:
            return
        channel, message_id = int(ticket.channel_id), int(ticket.opening_message_id)
        try:
            message = await self.ctx.bot.http.get_message(channel, message_id)
        except disnake.NotFound:
            return  # someone deleted the opening message
        guild = await self.ctx.guild_settings(ticket.guild_id)
        shown = guild.claim_button and category is not None and category.claiming
        button = release_button if ticket.claimed_by else claim_button
        locale = await self.ctx.guild_locale(ticket.guild_id)
        wanted = button(ticket.number, locale).to_component_dict() if shown else None
        before = cast(list[dict[str, Any]], message.get("components") or [])
        rows: list[dict[str, Any]] = []
        placed = False
        for row in before:
            kept: list[Any] = []
            for component in row.get("components") or []:
                if not _is_claim_component(dict(component)):
                    kept.append(component)
                elif wanted is not None and not placed:
                    kept.append(wanted)
                    placed = True
            rows.append({**row, "components": kept})
        if wanted is not None and not placed:
            if rows and len(rows[0]["components"]) < 5:
                rows[0]["components"].insert(0, wanted)
            else:
                rows.append({"type": 1, "components": [wanted]})
        rows = [row for row in rows if row["components"]]
        if rows != before:
            await self.ctx.bot.http.edit_message(channel, message_id, components=rows)

    async def _notice(self, ticket: Ticket, key: str, user: str) -> None:
        """Post a claim notice, unless the latest one already says it (a retried step)."""
        assert ticket.channel_id is not None
        channel = int(ticket.channel_id)
        me = str(self.ctx.bot_id)
        locale = await self.ctx.guild_locale(ticket.guild_id)
        text = t(locale, key, user=user)
        # Every translation starts with the user, so the rest tells a notice apart.
        endings = tuple(t(locale, k, user="") for k in ("claiming.claimed", "claiming.released"))
        for message in await self.ctx.bot.http.logs_from(channel, 20):
            content = str(message.get("content") or "")
            if str(message["author"]["id"]) == me and content.endswith(endings):
                if content == text:
                    return
                break
        await self.ctx.bot.get_partial_messageable(channel).send(text, allowed_mentions=NO_PINGS)


class ClaimingCommands(FeatureCog):
    """``/claim`` and ``/release`` inside a ticket."""

    def __init__(self, claiming: Claiming) -> None:
        self.claiming = claiming

    @commands.slash_command(
        name=localised("cmd_core.claim.name"),
        description=localised("cmd_core.claim.description"),
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def claim(self, inter: ApplicationCommandInteraction[Any]) -> None:
        await self.claiming.claim(inter)

    @commands.slash_command(
        name=localised("cmd_core.release.name"),
        description=localised("cmd_core.release.description"),
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def release(self, inter: ApplicationCommandInteraction[Any]) -> None:
        await self.claiming.release(inter)
