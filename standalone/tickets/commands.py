"""The base of every feature's slash commands: refusals go to the person."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone.tickets.errors import TicketError
from standalone.tickets.replies import forbidden_message, reply


class FeatureCog(commands.Cog):
    """Answers a TicketError, a Discord refusal or a bad argument; re-raises the rest."""

    async def cog_slash_command_error(
        self, inter: ApplicationCommandInteraction[Any], error: Exception
    ) -> None:
        """Refusals go to the person; anything else propagates so the event is retried."""
        await _answer_or_raise(inter, error)

    async def cog_user_command_error(
        self, inter: ApplicationCommandInteraction[Any], error: Exception
    ) -> None:
        """As for slash commands."""
        await _answer_or_raise(inter, error)

    async def cog_message_command_error(
        self, inter: ApplicationCommandInteraction[Any], error: Exception
    ) -> None:
        """As for slash commands."""
        await _answer_or_raise(inter, error)


async def _answer_or_raise(inter: ApplicationCommandInteraction[Any], error: Exception) -> None:
    original = getattr(error, "original", error)
    if isinstance(original, TicketError):
        await reply(inter, original.text)
        return
    if isinstance(original, disnake.Forbidden):
        await reply(inter, forbidden_message(original))
        return
    if isinstance(error, commands.CheckFailure | commands.BadArgument):
        await reply(inter, str(error))
        return
    raise original
