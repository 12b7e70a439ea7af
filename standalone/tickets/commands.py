"""Slash commands: thin wrappers that hand over to the ticket service."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone.tickets.errors import TicketError
from standalone.tickets.replies import forbidden_message, reply
from standalone.tickets.service import TicketService


class TicketCommands(commands.Cog):
    """``/panel`` for staff, ``/close`` inside a ticket."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    @commands.slash_command(
        name="panel",
        description="Post a panel with an Open ticket button in this channel.",
        contexts=disnake.InteractionContextTypes(guild=True),
        default_member_permissions=disnake.Permissions(manage_guild=True),
    )
    async def panel(
        self,
        inter: ApplicationCommandInteraction[Any],
        staff_role: disnake.Role = commands.Param(description="Role that handles these tickets"),
        category: disnake.CategoryChannel | None = commands.Param(
            default=None, description="Channel category for ticket channels (made if omitted)"
        ),
        name: str = commands.Param(
            default="Support", max_length=50, description="Name of this kind of ticket"
        ),
    ) -> None:
        await self.service.post_panel(inter, staff_role, category, name)

    @commands.slash_command(
        name="close",
        description="Close this ticket.",
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def close(
        self,
        inter: ApplicationCommandInteraction[Any],
        reason: str | None = commands.Param(
            default=None, max_length=500, description="Why it is closed"
        ),
    ) -> None:
        await self.service.close(inter, reason)

    async def cog_slash_command_error(
        self, inter: ApplicationCommandInteraction[Any], error: Exception
    ) -> None:
        """Refusals go to the person; anything else propagates so the event is retried."""
        original = getattr(error, "original", error)
        if isinstance(original, TicketError):
            await reply(inter, original.message)
            return
        if isinstance(original, disnake.Forbidden):
            await reply(inter, forbidden_message(original))
            return
        if isinstance(error, commands.CheckFailure | commands.BadArgument):
            await reply(inter, str(error))
            return
        raise original
