"""The final close of a ticket, and the paths to it that need no one's answer.

``finish`` is the one way a ticket ends: requests, force-closes, timers, departures,
deleted channels and the start-up sync all end there. Every step of it can run
again after a crash: the row says ``closing`` before Discord is touched, and the
DM and log entry are looked for before they are sent.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import disnake
from disnake.interactions.base import Interaction

from standalone import keys
from standalone.db.feedback import FeedbackRepository
from standalone.db.records import Category, Ticket, Timer
from standalone.i18n import Text, t
from standalone.observability import metrics
from standalone.tickets import close_views, custom_ids, locks
from standalone.tickets.access import require_ticket_access
from standalone.tickets.checks import category_full
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.events import ChannelDelete, MemberRemove, decode
from standalone.tickets.logs import already_posted, log_event
from standalone.tickets.replies import NO_PINGS, answer_locale, defer, reply
from standalone.tickets.router import ComponentRouter, EventRouter, TimerRouter
from standalone.tickets.staleness import STALE, timings
from standalone.tickets.transcript import (
    TranscriptAnswer,
    TranscriptEdit,
    TranscriptHeader,
    TranscriptMessage,
    render_html,
)
from standalone.tickets.transcript_files import transcript_files
from standalone.tickets.transcript_text import render_text

log = logging.getLogger(__name__)

AUTOMATED = "automation"
CHANNEL_DELETED = "channel deleted"
MEMBER_LEFT = "user left server"
# A closed thread ticket can be reopened this long after it closed.
REOPEN_WINDOW = timedelta(days=7)
# A retried reopen is recognised for as long as its interaction can be delivered again.
REOPEN_MARK_TTL_MS = 15 * 60 * 1000
REOPEN_LOCK_MS = 10_000
REOPEN_WAIT_S = 5.0
BUSY = Text("closing.busy")
# Discord: "Cannot send messages to this user" (DMs closed).
CANNOT_DM = 50007
# Renewed while a close runs, so this only bounds how long a dead worker's lock stays.
CLOSE_LOCK_MS = 15_000
CLOSE_LOCK_WAIT_S = 10.0
# Renewed while reconciling, so a worker that dies reconciling blocks the next start briefly.
RECONCILE_LOCK_MS = 10_000
# Longer than the lock lives unrenewed: a dead holder's lock always runs out first.
RECONCILE_WAIT_S = 15.0


# The reasons the bot gives itself are stored as above and shown in the guild's language.
_OWN_REASONS = {
    CHANNEL_DELETED: "closing.reason_channel_deleted",
    MEMBER_LEFT: "closing.reason_member_left",
}


def _reason(stored: str, locale: str) -> str:
    key = _OWN_REASONS.get(stored)
    return t(locale, key) if key else stored


class CloseBusy(TicketError):
    """Another worker is closing this ticket right now."""

    def __init__(self) -> None:
        super().__init__(Text("closing.close_busy"))


def guild_and_number(arguments: list[str]) -> tuple[str, int]:
    """``<guild>.<number>`` from a custom id that must also work outside the guild."""
    if len(arguments) != 2 or not arguments[0].isdigit():
        raise custom_ids.BadCustomId(".".join(arguments))
    return arguments[0], custom_ids.number(arguments[1:])


class Closing:
    """Final close, transcripts, departures, deleted channels, reopening thread tickets."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.feedback = FeedbackRepository(ctx.tickets.database, ctx.tenant)
        # Tells this process's reconcile lock from those of other workers.
        self._me = secrets.token_hex(8)

    def register(
        self, components: ComponentRouter, events: EventRouter, timers: TimerRouter
    ) -> None:
        """Take the Transcript and Reopen buttons, deletions, departures, due auto-closes."""
        components.button(custom_ids.TRANSCRIPT, self._transcript_button)
        components.button(custom_ids.REOPEN, self._reopen_button)
        events.on("CHANNEL_DELETE", self._channel_deleted_event)
        events.on("THREAD_DELETE", self._channel_deleted_event)
        events.on("GUILD_MEMBER_REMOVE", self._member_left)
        timers.on("auto_close", self._auto_close_due)

    # Paths that close without asking

    async def _auto_close_due(self, timer: Timer) -> None:
        ticket = await self.ctx.tickets.get(timer.guild_id, timer.number)
        if ticket is None or ticket.state not in {"open", "closing"}:
            return
        await self.finish(ticket, None, "inactivity")

    async def _channel_deleted_event(self, data: bytes) -> None:
        channel = decode("CHANNEL_DELETE", data, ChannelDelete)
        await self.channel_deleted(channel.id)

    async def channel_deleted(self, channel_id: str) -> Ticket | None:
        """Someone deleted a ticket's channel or thread in Discord: close the ticket.

        A ticket already ``closing`` is left to the close that deleted the channel.
        """
        ticket = await self.ctx.tickets.by_channel(channel_id)
        if ticket is None or ticket.state not in {"open", "opening"}:
            return None
        return await self.finish(ticket, "discord", CHANNEL_DELETED)

    async def _member_left(self, data: bytes) -> None:
        event = decode("GUILD_MEMBER_REMOVE", data, MemberRemove)
        for ticket in await self.ctx.tickets.active_of(event.guild_id, event.user.id):
            if ticket.state == "closing":
                continue  # a close already under way finishes as it began
            await self.finish(ticket, None, MEMBER_LEFT)

    async def reconcile(self) -> int:
        """At start: finish interrupted closes, close tickets whose channel is gone.

        One request at a time, so a tenant with many tickets does not flood Discord;
        a server the bot was removed from (403) is skipped. Returns how many closed.
        Workers starting the tenant together take turns under the reconcile lock:
        the next one finds closed what the first closed. It waits rather than skips,
        so the lock of a worker that died reconciling cannot cost this start its
        reconcile; while a live holder keeps renewing the lock past the wait, the
        work is left to it. A ticket whose close lock outlives one TTL is being closed
        by a live process (a dead one's lock runs out), and is left to it.
        """
        try:
            async with locks.held(
                self.ctx.cache,
                keys.reconcile_lock(self.ctx.tenant),
                self._me,
                ttl_ms=RECONCILE_LOCK_MS,
                wait_s=RECONCILE_WAIT_S,
            ):
                return await self._reconcile()
        except locks.Busy:
            log.info("tenant %s is being reconciled by another worker", self.ctx.tenant)
            return 0

    async def _reconcile(self) -> int:
        closed = 0
        reachable: dict[str, bool] = {}
        for ticket in await self.ctx.tickets.active():
            if ticket.guild_id not in reachable:
                reachable[ticket.guild_id] = await self._in_guild(ticket.guild_id)
            if not reachable[ticket.guild_id]:
                continue
            try:
                if ticket.state == "closing":
                    if await self._finish_unless_busy(ticket, ticket.closed_by, None):
                        closed += 1
                    continue
                if ticket.channel_id is None:
                    continue  # an open that never made a channel: opening handles it
                try:
                    await self.ctx.bot.http.get_channel(int(ticket.channel_id))
                except disnake.NotFound:
                    if await self._finish_unless_busy(ticket, "discord", CHANNEL_DELETED):
                        closed += 1
            except disnake.Forbidden:
                reachable[ticket.guild_id] = False
                log.info("guild %s is out of reach; its tickets stay as they are", ticket.guild_id)
            except disnake.HTTPException as exc:
                log.warning("ticket %s#%s not reconciled: %s", ticket.guild_id, ticket.number, exc)
        return closed

    async def _finish_unless_busy(
        self, ticket: Ticket, closed_by: str | None, reason: str | None
    ) -> bool:
        # Waits out the close lock's TTL: a worker that died closing this ticket left
        # its lock behind, and this start may be the only one to finish the ticket.
        # A lock still held past that is renewed by a live close, which finishes it.
        try:
            done = await self.finish(ticket, closed_by, reason, wait_s=CLOSE_LOCK_MS / 1000 + 1)
        except CloseBusy:
            return False
        return done.state == "closed"

    async def _in_guild(self, guild_id: str) -> bool:
        """Whether the bot is (still) in a guild; a removed bot leaves its tickets alone."""
        try:
            await self.ctx.bot.http.get_guild(int(guild_id), with_counts=False)
        except (disnake.NotFound, disnake.Forbidden):
            log.info("guild %s is out of reach; its tickets stay as they are", guild_id)
            return False
        return True

    # The final close

    async def finish(
        self,
        ticket: Ticket,
        closed_by: str | None,
        reason: str | None,
        *,
        wait_s: float = CLOSE_LOCK_WAIT_S,
    ) -> Ticket:
        """The final close, safe to run again: transcript, DM, log, channel removed, row closed.

        ``closed_by`` None means the bot closed it (a timer, a departure). A ticket
        already ``closing`` keeps the closer and reason it was given first. One
        process at a time closes a ticket: the DM and log entry are looked for
        before they are sent, and two closes between the look and the send would
        both send. Raises CloseBusy when another close holds it past ``wait_s``.
        """
        if ticket.state == "closed":
            return ticket
        key = keys.close_lock(self.ctx.tenant, ticket.guild_id, ticket.number)
        try:
            # A holder of its own per call: two closes of one ticket in this process
            # (a timer and a click) must exclude each other too.
            async with locks.held(
                self.ctx.cache, key, secrets.token_hex(8), ttl_ms=CLOSE_LOCK_MS, wait_s=wait_s
            ):
                # What the caller read may be stale: another close may have finished.
                current = await self.ctx.tickets.get(ticket.guild_id, ticket.number)
                if current is None or current.state == "closed":
                    return current or ticket
                return await self._finish(current, closed_by, reason)
        except locks.Busy:
            raise CloseBusy from None

    async def _finish(self, ticket: Ticket, closed_by: str | None, reason: str | None) -> Ticket:
        if ticket.state != "closing":
            encrypted = self.ctx.cipher.encrypt(reason) if reason else None
            ticket = await self.ctx.tickets.mark_closing(ticket, closed_by or AUTOMATED, encrypted)
        await self.ctx.timers.cancel(ticket.guild_id, ticket.number)
        category = await self.ctx.category_of(ticket)
        if ticket.channel_id is not None:
            # Discord's pins now (messages pinned by hand after "Pin message" too); a
            # retry whose channel is gone already keeps those the first try recorded.
            pins = await self._pins(int(ticket.channel_id))
            if pins and pins != ticket.pinned_message_ids:
                ticket = await self.ctx.tickets.set_pins(ticket, pins)
        key = await self.write_transcript(ticket, category)
        await self._announce(ticket, category)
        await self._remove_channel(ticket)
        closed = await self.ctx.tickets.mark_closed(ticket, key)
        # Counted once: a redelivery finds the ticket closed and does not come here.
        metrics.tickets_closed.labels(self.ctx.tickets.tenant).inc()
        return closed

    async def _pins(self, channel_id: int) -> list[str]:
        try:
            pins: Any = await self.ctx.bot.http.get_pins(channel_id, 50)
        except (disnake.NotFound, disnake.Forbidden):
            return []
        items = pins.get("items", []) if isinstance(pins, dict) else pins
        return [str(item.get("message", item)["id"]) for item in items]

    async def _remove_channel(self, ticket: Ticket) -> None:
        if ticket.channel_id is None:
            return
        channel = int(ticket.channel_id)
        audit = f"Ticket #{ticket.number} closed"
        try:
            if ticket.thread:
                # The thread stays, read-only, so the ticket can be reopened in it.
                with contextlib.suppress(disnake.NotFound):
                    await self.ctx.bot.http.remove_user_from_thread(channel, int(ticket.creator_id))
                await self.ctx.bot.http.edit_channel(
                    channel, archived=True, locked=True, reason=audit
                )
            else:
                await self.ctx.bot.http.delete_channel(channel, reason=audit)
        except disnake.NotFound:
            pass  # an earlier attempt, or a person, removed it already
        except disnake.Forbidden as exc:
            log.warning(
                "ticket %s#%s: channel left in place: %s", ticket.guild_id, ticket.number, exc
            )

    async def _announce(self, ticket: Ticket, category: Category | None) -> None:
        """The close summary to the creator (if still a member) and the log channel."""
        cipher = self.ctx.cipher
        feedback = await self.feedback.get(ticket.guild_id, ticket.number)
        locale = await self.ctx.guild_locale(ticket.guild_id)
        facts: dict[str, Any] = {
            "category": category.name if category else t(locale, "closing.deleted_category"),
            "number": ticket.number,
            "topic": cipher.decrypt(ticket.topic) if ticket.topic else None,
            "opened_at": ticket.created_at,
            "closed_at": ticket.closed_at or self.ctx.clock(),
            "first_response_at": ticket.first_response_at,
            "rating": feedback.rating if feedback else None,
            "closed_by": ticket.closed_by,
            "reason": _reason(cipher.decrypt(ticket.close_reason), locale)
            if ticket.close_reason
            else None,
            "locale": locale,
        }
        # Tells this close's messages from those of an earlier close of a reopened ticket.
        fingerprint = close_views.fingerprint(facts["closed_at"])
        buttons = close_views.closed_buttons(
            ticket.guild_id, ticket.number, reopenable=ticket.thread, locale=locale
        )
        if await self._still_member(ticket):
            embed = close_views.closed_summary(
                title=t(locale, "closing.dm_title"), comment=None, **facts
            )
            await self._dm(int(ticket.creator_id), embed, buttons, fingerprint)
        comment = cipher.decrypt(feedback.comment) if feedback and feedback.comment else None
        embed = close_views.closed_summary(
            title=t(locale, "closing.log_title"),
            comment=comment,
            creator_id=ticket.creator_id,
            **facts,
        )
        await log_event(self.ctx, ticket.guild_id, embed, buttons, fingerprint=fingerprint)

    async def _still_member(self, ticket: Ticket) -> bool:
        try:
            await self.ctx.bot.http.get_member(int(ticket.guild_id), int(ticket.creator_id))
        except (disnake.NotFound, disnake.Forbidden):
            return False
        return True

    async def _dm(
        self,
        user_id: int,
        embed: disnake.Embed,
        buttons: list[disnake.ui.Button[None]],
        fingerprint: str,
    ) -> None:
        """DM a summary once; closed DMs do not stop the close."""
        try:
            channel = await self.ctx.bot.http.start_private_message(user_id)
            channel_id = int(channel["id"])
            marker = str(buttons[0].custom_id)
            if await already_posted(self.ctx, channel_id, marker, fingerprint) is not None:
                return
            await self.ctx.bot.get_partial_messageable(channel_id).send(
                embed=embed, components=buttons, allowed_mentions=NO_PINGS
            )
        except disnake.Forbidden as exc:
            log.info("cannot DM %s (%s): %s", user_id, exc.code, exc.text)
        except disnake.HTTPException as exc:
            if exc.code != CANNOT_DM:
                raise

    async def write_transcript(self, ticket: Ticket, category: Category | None) -> str:
        """Render the ticket's archive as HTML and as text; returns the HTML's key."""
        cipher = self.ctx.cipher
        archived = await self.ctx.tickets.archived(ticket)
        messages = [
            TranscriptMessage(
                message_id=m.message_id,
                author_id=m.author_id,
                # Names archived before they were encrypted are still plain text.
                author_name=cipher.decrypt_legacy(m.author_name),
                author_bot=m.author_bot,
                content=cipher.decrypt(m.content),
                created_at=m.created_at,
                edited=m.edited,
                deleted=m.deleted,
                edits=[
                    TranscriptEdit(content=cipher.decrypt(e["content"]), at=e["at"])
                    for e in m.edits
                ],
            )
            for m in archived
            if not m.external
        ]
        feedback = await self.feedback.get(ticket.guild_id, ticket.number)
        locale = await self.ctx.guild_locale(ticket.guild_id)
        answers = [
            TranscriptAnswer(label=a.label, value=cipher.decrypt(a.value))
            for a in await self.ctx.tickets.answers(ticket)
        ]
        header = TranscriptHeader(
            guild_id=ticket.guild_id,
            number=ticket.number,
            category=category.name if category else t(locale, "closing.deleted_category"),
            creator_id=ticket.creator_id,
            topic=cipher.decrypt(ticket.topic) if ticket.topic else None,
            opened_at=ticket.created_at,
            closed_at=ticket.closed_at or datetime.now(UTC),
            closed_by=ticket.closed_by or AUTOMATED,
            reason=_reason(cipher.decrypt(ticket.close_reason), locale)
            if ticket.close_reason
            else None,
            claimed_by=ticket.claimed_by,
            rating=feedback.rating if feedback else None,
            comment=cipher.decrypt(feedback.comment) if feedback and feedback.comment else None,
            pinned=ticket.pinned_message_ids,
            answers=answers,
        )
        key = keys.transcript(ticket.guild_id, ticket.number)
        await self.ctx.store.put(
            key,
            render_html(header, messages, locale).encode(),
            content_type="text/html; charset=utf-8",
        )
        await self.ctx.store.put(
            keys.transcript_text(ticket.guild_id, ticket.number),
            render_text(header, messages, locale).encode(),
            content_type="text/plain; charset=utf-8",
        )
        return key

    # Buttons on close summaries (in DMs too)

    async def _transcript_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        guild_id, number = guild_and_number(arguments)
        ticket = await self._ticket(guild_id, number)
        category = await self.ctx.category_of(ticket)
        doing = Text("closing.see_transcript")
        await require_ticket_access(self.ctx, inter, ticket, category, doing)
        if ticket.state != "closed" or ticket.transcript_key is None:
            raise TicketError(Text("closing.still_open", number=number))
        await defer(inter)
        files = await transcript_files(self.ctx, ticket)
        locale = await answer_locale(inter, await self.ctx.guild_locale(guild_id))
        await inter.followup.send(
            t(locale, "closing.transcript_of", number=number),
            files=files,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    async def _ticket(self, guild_id: str, number: int) -> Ticket:
        ticket = await self.ctx.tickets.get(guild_id, number)
        if ticket is None:
            raise TicketError(Text("closing.no_such_ticket", number=number))
        return ticket

    async def _reopen_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        guild_id, number = guild_and_number(arguments)
        await self.reopen(inter, await self._ticket(guild_id, number))

    async def reopen(self, inter: Interaction[Any], ticket: Ticket) -> Ticket:
        """Open a closed thread ticket again: unarchive, bring the creator back, notice."""
        category = await self.ctx.category_of(ticket)
        await require_ticket_access(self.ctx, inter, ticket, category, Text("closing.reopen_it"))
        mark = keys.reopened_by(self.ctx.tenant, ticket.guild_id, ticket.number)
        if (
            ticket.state == "open"
            and ticket.channel_id is not None
            and await self.ctx.cache.get(mark) == str(inter.id).encode()
        ):
            # This reopen delivered again after the row was reopened: finish it.
            await defer(inter)
            await self._reopen_notice(inter, int(ticket.channel_id), ticket.guild_id)
            channel = f"<#{ticket.channel_id}>"
            await reply(inter, Text("closing.open_again", number=ticket.number, channel=channel))
            return ticket
        if ticket.state != "closed":
            raise TicketError(Text("closing.not_closed", number=ticket.number))
        if not ticket.thread or ticket.channel_id is None:
            raise TicketError(Text("closing.threads_only"))
        closed_at = ticket.closed_at or self.ctx.clock()
        if self.ctx.clock() - closed_at > REOPEN_WINDOW:
            raise TicketError(
                Text("closing.too_old", number=ticket.number, count=REOPEN_WINDOW.days)
            )
        # A reopened ticket counts against the limits like a new one, and is checked
        # under the lock new tickets of its category are checked under.
        lock = keys.open_lock(self.ctx.tenant, int(ticket.guild_id), ticket.category)
        # Answered before the wait: Discord drops an interaction unanswered for 3 s,
        # and the lock may be held by opens for longer than that.
        await defer(inter)
        try:
            async with locks.held(
                self.ctx.cache, lock, str(inter.id), ttl_ms=REOPEN_LOCK_MS, wait_s=REOPEN_WAIT_S
            ):
                if category is not None:
                    await self._check_room(ticket, category)
                return await self._reopen(inter, ticket, mark)
        except locks.Busy:
            raise TicketError(BUSY) from None

    async def _check_room(self, ticket: Ticket, category: Category) -> None:
        total = await self.ctx.tickets.count_open_in_category(ticket.guild_id, category.key)
        if total >= category.total_limit:
            raise category_full(category)
        mine = await self.ctx.tickets.count_active(ticket.guild_id, ticket.creator_id, category.key)
        if mine >= category.member_limit:
            raise TicketError(
                Text(
                    "closing.reopen_limit",
                    number=ticket.number,
                    user=f"<@{ticket.creator_id}>",
                    count=mine,
                    category=category.name,
                    limit=category.member_limit,
                )
            )

    async def _reopen(self, inter: Interaction[Any], ticket: Ticket, mark: str) -> Ticket:
        assert ticket.channel_id is not None
        await defer(inter)
        thread = int(ticket.channel_id)
        try:
            await self.ctx.bot.http.edit_channel(
                thread, archived=False, locked=False, reason=f"Ticket #{ticket.number} reopened"
            )
        except disnake.NotFound:
            raise TicketError(Text("closing.thread_deleted", number=ticket.number)) from None
        await self.ctx.bot.http.add_user_to_thread(thread, int(ticket.creator_id))
        # The close dropped its timers: without a new one a reopened ticket nobody
        # writes in would never go stale. Set before the row is reopened, so a retry
        # cannot miss it; on a ticket still closed the timer does nothing.
        stale_after, _ = await timings(self.ctx, ticket)
        if stale_after is not None:
            due = self.ctx.clock() + timedelta(milliseconds=stale_after)
            await self.ctx.timers.schedule(ticket.guild_id, ticket.number, STALE, due)
        # Before the row: a retry that finds the ticket open knows the reopen was its own.
        await self.ctx.cache.set(mark, str(inter.id).encode(), ttl_ms=REOPEN_MARK_TTL_MS)
        reopened = await self.ctx.tickets.reopen(ticket)
        if reopened is not None:
            await self._reopen_notice(inter, thread, ticket.guild_id)
        await reply(inter, Text("closing.open_again", number=ticket.number, channel=f"<#{thread}>"))
        return reopened or ticket

    async def _reopen_notice(self, inter: Interaction[Any], thread: int, guild_id: str) -> None:
        """Say in the thread who reopened it, once per reopen even when it runs again."""
        locale = await self.ctx.guild_locale(guild_id)
        text = t(locale, "closing.reopened_by", user=f"<@{inter.author.id}>")
        for message in await self.ctx.bot.http.logs_from(thread, 20):
            # Posted after this interaction began, by this bot: an earlier try's notice.
            if (
                int(message["id"]) > inter.id
                and str(message["author"]["id"]) == str(self.ctx.bot_id)
                and message.get("content") == text
            ):
                return
        await self.ctx.bot.get_partial_messageable(thread).send(text, allowed_mentions=NO_PINGS)
