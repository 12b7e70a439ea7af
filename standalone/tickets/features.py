"""Every feature of the ticket lifecycle, wired to one tenant's bot and routers."""

from __future__ import annotations

from disnake.ext import commands

from standalone.tickets.archive import Archive
from standalone.tickets.closing import Closing
from standalone.tickets.context import TicketContext
from standalone.tickets.opening import Opening
from standalone.tickets.router import ComponentRouter, EventRouter


class Features:
    """Builds the features of one tenant and hands each its commands, components and events."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.opening = Opening(ctx)
        self.archive = Archive(ctx)
        self.closing = Closing(ctx)

    def install(
        self, bot: commands.InteractionBot, components: ComponentRouter, events: EventRouter
    ) -> None:
        """Register every feature's slash commands, component handlers and event handlers."""
        self.opening.register(components)
        self.archive.register(events)
        self.closing.register(components, events)
        for cog in (self.opening.cog(), self.closing.cog()):
            bot.add_cog(cog)
