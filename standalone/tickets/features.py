"""Every feature of the ticket lifecycle, wired to one tenant's bot and routers."""

from __future__ import annotations

from disnake.ext import commands

from standalone.tickets.archive import Archive
from standalone.tickets.auto_replies import AutoReplies
from standalone.tickets.claiming import Claiming
from standalone.tickets.close_requests import CloseRequests
from standalone.tickets.closing import Closing
from standalone.tickets.context import TicketContext
from standalone.tickets.entries import Entries
from standalone.tickets.force_close import ForceClose
from standalone.tickets.help import HelpCommands
from standalone.tickets.hours_commands import HoursCommands
from standalone.tickets.listing import Listing
from standalone.tickets.opening import Opening
from standalone.tickets.pin_notices import PinNotices
from standalone.tickets.router import ComponentRouter, EventRouter, TimerRouter
from standalone.tickets.settings_commands import SettingsCommands
from standalone.tickets.staff_commands import StaffCommands
from standalone.tickets.staleness import Staleness
from standalone.tickets.stats import Statistics
from standalone.tickets.tag_commands import TagCommands
from standalone.tickets.topic import Topics


class Features:
    """Builds the features of one tenant and hands each its commands, components and events."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.opening = Opening(ctx)
        self.entries = Entries(ctx, self.opening)
        self.archive = Archive(ctx)
        self.pin_notices = PinNotices(ctx)
        self.closing = Closing(ctx)
        self.claiming = Claiming(ctx)
        self.staleness = Staleness(ctx)
        self.close_requests = CloseRequests(ctx, self.closing)
        self.force_close = ForceClose(ctx, self.closing)
        self.auto_replies = AutoReplies(ctx)
        self.listing = Listing(ctx)
        self.statistics = Statistics(ctx)
        self.topics = Topics(ctx)
        self.components = ComponentRouter()
        self.events = EventRouter()
        self.timers = TimerRouter()

    def install(self, bot: commands.InteractionBot) -> None:
        """Register every feature's slash commands, component, event and timer handlers."""
        self.entries.register(self.components, self.events)
        self.opening.notices.register(self.events)
        self.archive.register(self.events)
        self.pin_notices.register(self.events)
        self.closing.register(self.components, self.events, self.timers)
        self.claiming.register(self.components)
        self.staleness.register(self.events, self.timers)
        self.close_requests.register(self.components, self.events, self.timers)
        self.force_close.register(self.components)
        self.auto_replies.register(self.events)
        self.topics.register(self.components)
        cogs = (
            self.entries.cog(),
            self.close_requests.cog(),
            self.force_close.cog(),
            self.claiming.cog(),
            SettingsCommands(self.ctx),
            HoursCommands(self.ctx),
            HelpCommands(self.ctx, bot),
            TagCommands(self.ctx),
            self.listing.cog(),
            self.statistics.cog(),
            StaffCommands(self.ctx, self.topics),
        )
        for cog in cogs:
            bot.add_cog(cog)

    async def on_start(self, *, events_lost: bool = False) -> None:
        """Bring the tenant's records in line with Discord after a (re)start.

        ``events_lost``: the events taken before this start are gone, so opens they
        began will never be finished by a redelivery.
        """
        if events_lost:
            # Before reconcile, which finishes the closes this begins.
            await self.opening.give_up_interrupted(before=self.ctx.clock())
        await self.closing.reconcile()
        await self.staleness.on_start()
