"""Notices in a new ticket: "we are not working now" and "no staff is online".

Outside working hours the ticket says when staff is back (the next opening,
searched across days off, midnight and DST). Within them, if no member holding a
staff role of the category is online, it says so: at most once an hour per
ticket, checked again on each message of a non-staff member. Bots never count as
staff (v4 #641), and without presence data (no GUILD_PRESENCES intent, v4 #645)
nothing is said, since "offline" would only mean "unknown".
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

import disnake

from standalone import keys
from standalone.db.records import Category, GuildSettings, Ticket
from standalone.i18n import t
from standalone.services.member_presences import has_presences, online_among
from standalone.tickets.context import TicketContext
from standalone.tickets.events import MessageEvent, decode
from standalone.tickets.hours import Schedule, parse_schedule
from standalone.tickets.replies import NO_PINGS
from standalone.tickets.router import EventRouter

log = logging.getLogger(__name__)

NOTICE_EVERY_MS = 3600 * 1000  # v4: once an hour per ticket channel
STAFF_SEEN_MS = 5 * 60 * 1000  # how long "staff was online" saves listing members
HOURS_MARK_MS = 7 * 24 * 3600 * 1000  # only redeliveries need the mark
MEMBER_PAGE = 1000
MAX_MEMBER_PAGES = 25  # 25,000 members: beyond, staff is assumed online (no false alarm)


def schedule_of(settings: GuildSettings, category: Category | None) -> Schedule | None:
    """The category's working hours, else the guild's; None: always working."""
    own = category.working_hours if category is not None else None
    return parse_schedule(own or settings.working_hours)


class Notices:
    """Posts the working-hours and staff-offline notices of tickets."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    def register(self, events: EventRouter) -> None:
        """Re-check staff presence on each message in a ticket."""
        events.on("MESSAGE_CREATE", self._message)

    async def after_open(self, ticket: Ticket, category: Category, channel_id: int) -> None:
        """Right after the opening message: the hours notice, or the staff check."""
        settings = await self.ctx.guild_settings(ticket.guild_id)
        schedule = schedule_of(settings, category)
        now = self.ctx.clock()
        if schedule is not None and not schedule.is_open(now):
            await self._closed_notice(ticket, settings, schedule, now, channel_id)
            return
        await self._staff_check(ticket, category, channel_id)

    async def _closed_notice(
        self,
        ticket: Ticket,
        settings: GuildSettings,
        schedule: Schedule,
        now: datetime,
        channel_id: int,
    ) -> None:
        back = schedule.next_opening(now)
        if back is None:
            return
        mark = keys.hours_notice(self.ctx.tenant, str(channel_id))
        if await self.ctx.cache.get(mark) is not None:
            return  # a redelivered open posted it already
        locale = await self.ctx.guild_locale(ticket.guild_id)
        title = t(locale, "hours.notice_title")
        # Also when the mark was lost (a worker died after posting, or Discord's answer
        # was): the channel itself says whether the notice is there.
        if not await self._posted(channel_id, title):
            stamp = int(back.timestamp())
            embed = disnake.Embed(
                title=title,
                description=t(
                    locale, "hours.notice", relative=f"<t:{stamp}:R>", at=f"<t:{stamp}:F>"
                ),
                colour=settings.colour,
            )
            await self.ctx.bot.get_partial_messageable(channel_id).send(
                embed=embed, allowed_mentions=NO_PINGS
            )
        await self.ctx.cache.set(mark, b"1", ttl_ms=HOURS_MARK_MS)

    async def _posted(self, channel_id: int, title: str) -> bool:
        """Whether one of the channel's recent messages is this bot's notice titled so."""
        for message in await self.ctx.bot.http.logs_from(channel_id, 20):
            if str(message["author"]["id"]) != str(self.ctx.bot_id):
                continue
            embeds = cast(list[dict[str, Any]], message.get("embeds") or [])
            if embeds and embeds[0].get("title") == title:
                return True
        return False

    async def _message(self, data: bytes) -> None:
        event = decode("MESSAGE_CREATE", data, MessageEvent)
        if event.guild_id is None or event.author.bot or event.webhook_id is not None:
            return
        if event.type not in (0, 19):  # a member's message or reply, not a system notice
            return
        if await self._recent(keys.staff_offline_notice(self.ctx.tenant, event.channel_id)):
            return  # cheap: most messages stop here or at the next line
        ticket = await self.ctx.tickets.by_channel(event.channel_id)
        if ticket is None or ticket.state != "open":
            return
        category = await self.ctx.category_of(ticket)
        if category is None:
            return
        roles = set(event.member.roles) if event.member else set()
        if roles & set(category.staff_roles):
            return
        settings = await self.ctx.guild_settings(ticket.guild_id)
        schedule = schedule_of(settings, category)
        if schedule is not None and not schedule.is_open(self.ctx.clock()):
            return
        await self._staff_check(ticket, category, int(event.channel_id))

    async def _staff_check(self, ticket: Ticket, category: Category, channel_id: int) -> None:
        tenant, cache = self.ctx.tenant, self.ctx.cache
        notice = keys.staff_offline_notice(tenant, str(channel_id))
        seen = keys.staff_seen_online(tenant, str(channel_id))
        if not category.staff_roles:
            return
        if await self._recent(notice, NOTICE_EVERY_MS) or await self._recent(seen, STAFF_SEEN_MS):
            return
        if not await has_presences(cache, tenant, ticket.guild_id):
            # No presence data, no notice (v4 #645): listing members would be wasted.
            return
        staff = await self._staff(ticket.guild_id, set(category.staff_roles))
        if staff is None:
            return
        online = await online_among(cache, tenant, ticket.guild_id, staff)
        if online is None:
            return  # no presence data: "offline" would be a guess
        if online:
            await self._stamp(seen, STAFF_SEEN_MS)
            return
        if not await self._claim(notice, str(channel_id)):
            return  # another worker is posting it
        settings = await self.ctx.guild_settings(ticket.guild_id)
        locale = await self.ctx.guild_locale(ticket.guild_id)
        embed = disnake.Embed(
            title=t(locale, "presence.offline_title"),
            description=t(locale, "presence.offline"),
            colour=settings.colour,
        )
        await self.ctx.bot.get_partial_messageable(channel_id).send(
            embed=embed, allowed_mentions=NO_PINGS
        )

    # Time marks compare with the context's clock (not the cache's TTL), so "an hour
    # later" is the same hour for every worker and for tests that move the clock.

    async def _recent(self, key: str, span_ms: int = NOTICE_EVERY_MS) -> bool:
        stored = await self.ctx.cache.get(key)
        if stored is None:
            return False
        elapsed = self.ctx.clock().timestamp() - float(stored.decode().split("|")[0])
        return 0 <= elapsed * 1000 < span_ms

    async def _stamp(self, key: str, span_ms: int) -> None:
        await self.ctx.cache.set(key, str(self.ctx.clock().timestamp()).encode(), ttl_ms=span_ms)

    async def _claim(self, key: str, channel_id: str) -> bool:
        """Stamp ``key`` now, unless another worker stamped it since it was last read.

        A compare-and-set from set-if-absent: only one worker can take the step from
        the value it read to a new one (the claim key names the old value).
        """
        cache = self.ctx.cache
        previous = await cache.get(key)
        claim = keys.staff_offline_claim(
            self.ctx.tenant, channel_id, (previous or b"none").decode()
        )
        if not await cache.set_if_absent(claim, b"1", ttl_ms=NOTICE_EVERY_MS):
            return False
        await self._stamp(key, NOTICE_EVERY_MS * 24)
        return True

    async def _staff(self, guild_id: str, roles: set[str]) -> list[str] | None:
        """Ids of the guild's human members holding one of ``roles``; None: too many to list."""
        found: list[str] = []
        after = 0
        for _ in range(MAX_MEMBER_PAGES):
            try:
                page = cast(
                    list[dict[str, Any]],
                    await self.ctx.bot.http.get_members(int(guild_id), MEMBER_PAGE, after or None),
                )
            except disnake.Forbidden:
                log.info("guild %s: cannot list members (Server Members intent?)", guild_id)
                return None
            for member in page:
                user = cast(dict[str, Any], member.get("user") or {})
                if user.get("bot"):
                    continue  # v4 #641: a bot holding a staff role is no one to talk to
                if roles & {str(r) for r in member.get("roles") or []}:
                    found.append(str(user["id"]))
            if len(page) < MEMBER_PAGE:
                return found
            after = int(cast(dict[str, Any], page[-1]["user"])["id"])
        return None
