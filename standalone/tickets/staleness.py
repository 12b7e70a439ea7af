"""Activity in open tickets, stale warnings, and the auto-close they lead to.

Every human message records when the ticket was last active, whether staff
wrote last and when staff first answered, and moves the ticket's ``stale``
timer to ``stale_after_ms`` later. When the timer fires, a warning with a Close
button is posted and an ``auto_close`` timer set (Closing handles it); any
human message takes the warning back. Both timings are per category, falling
back to the guild's settings. A ticket without any message goes stale too:
its timer starts when the opening message is posted (Discord Tickets v4 #552).

The message handler records the activity before it looks for a warning, and
the timer records the warning before it looks for new activity, so whichever
runs second sees the other and a message is never lost to a race.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta

import disnake

from standalone import keys
from standalone.db.activity import ActivityRepository
from standalone.db.records import Category, Ticket, Timer
from standalone.i18n import t
from standalone.tickets import custom_ids
from standalone.tickets.context import TicketContext, effective_ms
from standalone.tickets.events import MessageEvent, decode
from standalone.tickets.router import EventRouter, TimerRouter

log = logging.getLogger(__name__)

STALE = "stale"
AUTO_CLOSE = "auto_close"
STALE_MARK = "stale"  # second custom id argument: tells the warning from the opening message
# Messages people write (default, reply); joins, pins and the like are not activity.
HUMAN_MESSAGE_TYPES = frozenset({0, 19})
ADMIN_PERMISSIONS = disnake.Permissions(administrator=True, manage_guild=True).value
ADMIN_ROLES_TTL_MS = 60_000
STALE_DROPPED_KEPT = 100_000  # tickets remembered; forgetting costs a DELETE each


async def timings(ctx: TicketContext, ticket: Ticket) -> tuple[int | None, int | None]:
    """Effective (stale_after_ms, auto_close_ms): the category's, else the guild's; None: off."""
    category = await ctx.category_of(ticket)
    guild = await ctx.guild_settings(ticket.guild_id)
    return (
        effective_ms(category.stale_after_ms if category else None, guild.stale_after_ms),
        effective_ms(category.auto_close_ms if category else None, guild.auto_close_ms),
    )


async def schedule_stale(ctx: TicketContext, ticket: Ticket) -> Timer | None:
    """Set the ticket's ``stale`` timer from its last activity; None when staleness is off.

    Call it once the opening message exists; a ticket already warned keeps its warning.
    """
    if ticket.state not in {"opening", "open"} or ticket.stale_message_id is not None:
        return None
    stale_after, _ = await timings(ctx, ticket)
    if stale_after is None:
        await ctx.timers.drop(ticket.guild_id, ticket.number, STALE)
        return None
    since = ticket.last_message_at or ticket.created_at
    due = since + timedelta(milliseconds=stale_after)
    return await ctx.timers.schedule(ticket.guild_id, ticket.number, STALE, due)


def warning_custom_id(number: int) -> str:
    """The Close button of a stale warning (handled like any Close button)."""
    return custom_ids.make(custom_ids.CLOSE, number, STALE_MARK)


def _stamp(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:R>"


class Staleness:
    """Tracks activity and runs the stale timer of every open ticket."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.activity = ActivityRepository(ctx.tickets.database, ctx.tenant)
        # Tickets (guild, number) whose stale timer this process dropped while
        # staleness was off: one DELETE per ticket, not one per message.
        self._stale_dropped: set[tuple[str, int]] = set()

    def register(self, events: EventRouter, timers: TimerRouter) -> None:
        """Listen for messages and take the ``stale`` timers."""
        events.on("MESSAGE_CREATE", self._message_created)
        timers.on(STALE, self._stale_due)

    async def on_start(self) -> int:
        """Give open tickets without a timer one (opened before staleness was set, say).

        A ticket already warned gets its missing auto-close instead. Returns how many
        timers were set.
        """
        count = 0
        for ticket in await self.ctx.tickets.tickets():
            if ticket.state != "open":
                continue
            if await self._has_timer(ticket):
                continue
            if ticket.stale_message_id is not None:
                _, auto_close = await timings(self.ctx, ticket)
                if auto_close is not None:
                    await self._schedule_close(ticket, auto_close, self.ctx.clock())
                    count += 1
            elif await schedule_stale(self.ctx, ticket) is not None:
                count += 1
        return count

    # Messages

    async def _message_created(self, data: bytes) -> None:
        event = decode("MESSAGE_CREATE", data, MessageEvent)
        if event.guild_id is not None:
            await self.message(event)

    async def message(self, event: MessageEvent) -> bool:
        """Record a message in a ticket; whether it counted as activity."""
        ticket = await self.ctx.tickets.by_channel(event.channel_id)
        if ticket is None or ticket.state not in {"opening", "open"}:
            return False
        if event.author.bot or event.webhook_id is not None:
            if event.author.id == str(self.ctx.bot_id):
                await self._start_if_quiet(ticket)
            return False
        if event.type not in HUMAN_MESSAGE_TYPES:
            return False
        staff = await self.is_staff(ticket, event)
        mark = (ticket.guild_id, ticket.number)
        if ticket.stale_message_id is None and (await timings(self.ctx, ticket))[0] is None:
            # Staleness is off: nothing needs the ticket read back, and a stale timer
            # left from when it was on is dropped once, alongside the activity (one
            # batched query). Were another one set since, it would find staleness
            # off when due and do nothing.
            noted = self.activity.note_message(
                ticket, event.timestamp, staff=staff, author=event.author.id
            )
            if mark in self._stale_dropped:
                await noted
            else:
                await asyncio.gather(
                    noted, self.ctx.timers.drop(ticket.guild_id, ticket.number, STALE)
                )
                if len(self._stale_dropped) >= STALE_DROPPED_KEPT:
                    self._stale_dropped.clear()
                self._stale_dropped.add(mark)
            return True
        self._stale_dropped.discard(mark)
        ticket = await self.activity.message(
            ticket, event.timestamp, staff=staff, author=event.author.id
        )
        if ticket.stale_message_id is not None:
            ticket = await self.take_back_warning(ticket)
        await schedule_stale(self.ctx, ticket)
        return True

    async def _start_if_quiet(self, ticket: Ticket) -> None:
        """The bot posted in a ticket nobody wrote in yet (its opening message): start the timer."""
        if ticket.last_message_at is not None or ticket.stale_message_id is not None:
            return
        if not await self._has_timer(ticket):
            await schedule_stale(self.ctx, ticket)

    async def _has_timer(self, ticket: Ticket) -> bool:
        for kind in (STALE, AUTO_CLOSE):
            if await self.ctx.timers.get(ticket.guild_id, ticket.number, kind) is not None:
                return True
        return False

    async def is_staff(self, ticket: Ticket, event: MessageEvent) -> bool:
        """Whether the author handles the ticket: a staff role of its category, or an admin."""
        if event.author.id == ticket.creator_id:
            return False
        roles = set(event.member.roles) if event.member else set()
        category = await self.ctx.category_of(ticket)
        if category is not None and roles & set(category.staff_roles):
            return True
        return bool(roles & await self._admin_roles(ticket.guild_id))

    async def _admin_roles(self, guild_id: str) -> set[str]:
        # Messages carry role ids, not permissions; a minute-old view of the roles will do.
        key = keys.admin_roles(self.ctx.tenant, guild_id)
        cached = await self.ctx.cache.get(key)
        if cached is not None:
            return set(json.loads(cached))
        roles = await self.ctx.bot.http.get_roles(int(guild_id))
        admin = sorted(str(r["id"]) for r in roles if int(r["permissions"]) & ADMIN_PERMISSIONS)
        await self.ctx.cache.set(key, json.dumps(admin).encode(), ttl_ms=ADMIN_ROLES_TTL_MS)
        return set(admin)

    async def take_back_warning(self, ticket: Ticket) -> Ticket:
        """Someone wrote after the stale warning: no auto-close, warning deleted."""
        warning = ticket.stale_message_id
        if warning is None:
            return ticket
        await self.ctx.timers.cancel(ticket.guild_id, ticket.number, AUTO_CLOSE)
        if ticket.channel_id is not None:
            # NotFound: an earlier try, or a person, deleted it already.
            with contextlib.suppress(disnake.NotFound):
                await self.ctx.bot.http.delete_message(
                    int(ticket.channel_id), int(warning), reason="Ticket active again"
                )
        return await self.activity.clear_stale_message(ticket, warning)

    # The stale timer

    async def _stale_due(self, timer: Timer) -> None:
        ticket = await self.ctx.tickets.get(timer.guild_id, timer.number)
        if ticket is not None and ticket.state == "open" and ticket.channel_id is not None:
            await self.warn(ticket)

    async def warn(self, ticket: Ticket) -> Ticket:
        """Post the stale warning and set the auto-close, if the ticket is still idle."""
        stale_after, auto_close = await timings(self.ctx, ticket)
        now = self.ctx.clock()
        if ticket.stale_message_id is not None:
            # Warned before (a redelivered timer): only make sure the close is due.
            await self._schedule_close(ticket, auto_close, now)
            return ticket
        if stale_after is None:
            return ticket
        since = ticket.last_message_at or ticket.created_at
        if now < since + timedelta(milliseconds=stale_after):
            await schedule_stale(self.ctx, ticket)  # a message moved it meanwhile
            return ticket
        assert ticket.channel_id is not None
        channel = int(ticket.channel_id)
        warning = await self.ctx.find_bot_message(channel, warning_custom_id(ticket.number))
        if warning is None:
            warning = await self._post_warning(ticket, since, auto_close, now)
        ticket = await self.activity.set_stale_message(ticket, warning)
        await self._schedule_close(ticket, auto_close, now)
        current = await self.ctx.tickets.get(ticket.guild_id, ticket.number)
        if current is not None and (current.last_message_at or current.created_at) > since:
            # A message came while the warning was posted and may not have seen it.
            current = await self.take_back_warning(current)
            await schedule_stale(self.ctx, current)
            return current
        return ticket

    async def _schedule_close(self, ticket: Ticket, auto_close: int | None, now: datetime) -> None:
        if auto_close is None:
            return
        if await self.ctx.timers.get(ticket.guild_id, ticket.number, AUTO_CLOSE) is None:
            due = now + timedelta(milliseconds=auto_close)
            await self.ctx.timers.schedule(ticket.guild_id, ticket.number, AUTO_CLOSE, due)

    async def _post_warning(
        self, ticket: Ticket, since: datetime, auto_close: int | None, now: datetime
    ) -> str:
        category = await self.ctx.category_of(ticket)
        ping, mentions = self._ping(ticket, category)
        locale = await self.ctx.guild_locale(ticket.guild_id)
        if auto_close is None:
            text = t(locale, "staleness.warning", since=_stamp(since))
        else:
            due = _stamp(now + timedelta(milliseconds=auto_close))
            text = t(locale, "staleness.warning_closing", since=_stamp(since), due=due)
        button: disnake.ui.Button[None] = disnake.ui.Button(
            label=t(locale, "views.close"),
            emoji="🔒",
            style=disnake.ButtonStyle.danger,
            custom_id=warning_custom_id(ticket.number),
        )
        assert ticket.channel_id is not None
        sent = await self.ctx.bot.get_partial_messageable(int(ticket.channel_id)).send(
            f"{ping}\n{text}" if ping else text, components=[button], allowed_mentions=mentions
        )
        return str(sent.id)

    @staticmethod
    def _ping(ticket: Ticket, category: Category | None) -> tuple[str, disnake.AllowedMentions]:
        """The creator if staff wrote last (they owe an answer), else the category's ping roles."""
        if ticket.last_author_staff:
            creator = int(ticket.creator_id)
            return f"<@{creator}>", disnake.AllowedMentions(
                users=[disnake.Object(creator)], roles=False, everyone=False
            )
        roles = [int(r) for r in (category.ping_roles if category else [])]
        return " ".join(f"<@&{r}>" for r in roles), disnake.AllowedMentions(
            users=False, roles=[disnake.Object(r) for r in roles], everyone=False
        )
