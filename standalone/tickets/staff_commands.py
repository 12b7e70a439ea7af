"""The staff tools' commands: ``/add``, ``/remove``, ``/move``, ``/transfer``,
``/priority``, ``/rename``, ``/topic`` and the "Pin message" message command."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone.i18n import localised
from standalone.tickets import moving, pins, renaming
from standalone.tickets import priority as priorities
from standalone.tickets import transfer as transfers
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext
from standalone.tickets.members import Members
from standalone.tickets.topic import Topics

GUILD_ONLY = disnake.InteractionContextTypes(guild=True)


def _level(value: str) -> disnake.OptionChoice:
    return disnake.OptionChoice(localised(f"cmd_staff.priority.choice_{value}"), value)


class StaffCommands(FeatureCog):
    """Commands staff (and, for topics and pins, the creator) use inside a ticket."""

    def __init__(self, ctx: TicketContext, topics: Topics) -> None:
        self.ctx = ctx
        self.members = Members(ctx)
        self.topics = topics

    @commands.slash_command(
        name=localised("cmd_staff.add.name"),
        description=localised("cmd_staff.add.description"),
        contexts=GUILD_ONLY,
    )
    async def add(
        self,
        inter: ApplicationCommandInteraction[Any],
        member: disnake.User = commands.Param(
            name=localised("cmd_staff.add.member.name"),
            description=localised("cmd_staff.add.member.description"),
        ),
    ) -> None:
        await self.members.add(inter, member)

    @commands.slash_command(
        name=localised("cmd_staff.remove.name"),
        description=localised("cmd_staff.remove.description"),
        contexts=GUILD_ONLY,
    )
    async def remove(
        self,
        inter: ApplicationCommandInteraction[Any],
        member: disnake.User = commands.Param(
            name=localised("cmd_staff.remove.member.name"),
            description=localised("cmd_staff.remove.member.description"),
        ),
    ) -> None:
        await self.members.remove(inter, member)

    @commands.slash_command(
        name=localised("cmd_staff.move.name"),
        description=localised("cmd_staff.move.description"),
        contexts=GUILD_ONLY,
    )
    async def move(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = commands.Param(
            name=localised("cmd_staff.move.category.name"),
            description=localised("cmd_staff.move.category.description"),
            max_length=100,
        ),
    ) -> None:
        await moving.move(self.ctx, inter, category)

    @move.autocomplete("category")
    async def _move_category(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> dict[str, str]:
        return await moving.category_choices(self.ctx, inter, text)

    @commands.slash_command(
        name=localised("cmd_staff.transfer.name"),
        description=localised("cmd_staff.transfer.description"),
        contexts=GUILD_ONLY,
    )
    async def transfer(
        self,
        inter: ApplicationCommandInteraction[Any],
        member: disnake.User = commands.Param(
            name=localised("cmd_staff.transfer.member.name"),
            description=localised("cmd_staff.transfer.member.description"),
        ),
    ) -> None:
        await transfers.transfer(self.ctx, inter, member)

    @commands.slash_command(
        name=localised("cmd_staff.priority.name"),
        description=localised("cmd_staff.priority.description"),
        contexts=GUILD_ONLY,
    )
    async def priority(
        self,
        inter: ApplicationCommandInteraction[Any],
        level: str = commands.Param(
            name=localised("cmd_staff.priority.level.name"),
            description=localised("cmd_staff.priority.level.description"),
            choices=[_level(value) for value in priorities.LEVELS],
        ),
    ) -> None:
        await priorities.set_priority(self.ctx, inter, level)

    @commands.slash_command(
        name=localised("cmd_staff.rename.name"),
        description=localised("cmd_staff.rename.description"),
        contexts=GUILD_ONLY,
    )
    async def rename(
        self,
        inter: ApplicationCommandInteraction[Any],
        name: str = commands.Param(
            name=localised("cmd_staff.rename.new_name.name"),
            description=localised("cmd_staff.rename.new_name.description"),
            max_length=renaming.MAX_NAME,
        ),
    ) -> None:
        await renaming.rename_ticket(self.ctx, inter, name)

    @commands.slash_command(
        name=localised("cmd_staff.topic.name"),
        description=localised("cmd_staff.topic.description"),
        contexts=GUILD_ONLY,
    )
    async def topic(self, inter: ApplicationCommandInteraction[Any]) -> None:
        await self.topics.show_form(inter)

    @commands.message_command(name=localised("cmd_staff.pin.label"), contexts=GUILD_ONLY)
    async def pin(self, inter: ApplicationCommandInteraction[Any]) -> None:
        await pins.pin(self.ctx, inter)
