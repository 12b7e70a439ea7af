"""``/close`` and the Close button: a request the other side accepts or rejects.

Staff asking → only the member who opened the ticket may answer; that member asking
→ only staff of the ticket's category (or admins). The request lives on the ticket
row with a ``close_request`` timer, so a restart loses neither; the reason never
rides in a custom id.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any, cast

import disnake
import msgspec
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.base import Interaction
from disnake.interactions.modal import ModalInteraction

from standalone import keys
from standalone.db.records import Category, CloseRequest, Ticket, Timer
from standalone.i18n import Text, localised, t
from standalone.tickets import close_views, custom_ids, feedback
from standalone.tickets.closing import Closing
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_staff, mention_ok
from standalone.tickets.errors import TicketError
from standalone.tickets.events import MessageEvent, decode
from standalone.tickets.replies import NO_PINGS, defer, reader_locale, reply
from standalone.tickets.router import ComponentRouter, EventRouter, TimerRouter

MAX_REASON = 500
# The feedback form may stay open a while; what it continues is kept as long.
FEEDBACK_TTL_MS = 15 * 60 * 1000
TIMER = "close_request"
# Message types a person sends (default, reply); pins and joins do not count.
_PERSON_MESSAGES = {0, 19}
REJECTED = Text("close_requests.you_rejected")
_STATES = {
    "closing": Text("close_requests.state_closing"),
    "closed": Text("close_requests.state_closed"),
}


def rejected_text(user_id: str, locale: str) -> str:
    """What a close request message says once ``user_id`` rejected it."""
    return t(locale, "close_requests.rejected", user=f"<@{user_id}>")


class CloseRequests:
    """Asking to close, answering, the feedback form on the way, and expiry."""

    def __init__(self, ctx: TicketContext, closing: Closing) -> None:
        self.ctx = ctx
        self.closing = closing

    def register(
        self, components: ComponentRouter, events: EventRouter, timers: TimerRouter
    ) -> None:
        """Take Close, Accept, Reject, the feedback form, new messages and expiry."""
        components.button(custom_ids.CLOSE, self._close_button)
        components.button(custom_ids.CLOSE_ACCEPT, self._accept_button)
        components.button(custom_ids.CLOSE_REJECT, self._reject_button)
        components.modal(custom_ids.FEEDBACK, self._feedback_submitted)
        events.on("MESSAGE_CREATE", self._message_created)
        timers.on(TIMER, self._expired)

    def cog(self) -> commands.Cog:
        """``/close``."""
        return CloseCommands(self)

    async def _close_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self.request(inter, None)

    async def _accept_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self.answer(inter, custom_ids.number(arguments), accept=True)

    async def _reject_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        await self.answer(inter, custom_ids.number(arguments), accept=False)

    # Asking

    async def request(
        self, inter: Interaction[Any], reason: str | None, *, after_feedback: bool = False
    ) -> Ticket:
        """Ask to close the ticket of this channel (or close it if its creator left)."""
        ticket = await self.ctx.ticket_here(inter)
        if ticket.state != "open":
            state = _STATES.get(ticket.state, ticket.state)
            raise TicketError(
                Text("close_requests.cannot_close", number=ticket.number, state=state)
            )
        category = await self.ctx.category_of(ticket)
        user = str(inter.author.id)
        creator = user == ticket.creator_id
        if not creator and not is_staff(inter, category):
            raise TicketError(Text("close_requests.not_allowed"))
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > MAX_REASON:
            raise TicketError(Text("close_requests.reason_too_long", max=MAX_REASON))
        pending = ticket.close_request
        if pending is not None and pending.interaction_id != str(inter.id):
            raise TicketError(Text("close_requests.pending"))
        if creator and not after_feedback and await self._wants_feedback(ticket, category):
            await self._ask_feedback(inter, ticket, feedback.REQUEST, reason)
            return ticket
        await defer(inter)
        if not creator and not await self.closing._still_member(ticket):
            await reply(inter, Text("close_requests.creator_left", number=ticket.number))
            return await self.closing.finish(ticket, user, reason)
        if pending is None:
            now = self.ctx.clock()
            request = CloseRequest(
                requested_by=user,
                expect="staff" if creator else "creator",
                at=now,
                reason=self.ctx.cipher.encrypt(reason) if reason else None,
                interaction_id=str(inter.id),
            )
            ticket = await self.ctx.tickets.set_close_request(ticket, _row(request))
            delay = await self._auto_close_ms(ticket, category)
            if delay is not None:
                await self.ctx.timers.schedule(
                    ticket.guild_id, ticket.number, TIMER, now + timedelta(milliseconds=delay)
                )
        ticket = await self._post_request(ticket)
        await reply(inter, Text("close_requests.sent"))
        return ticket

    async def _auto_close_ms(self, ticket: Ticket, category: Category | None) -> int | None:
        if category is not None and category.auto_close_ms is not None:
            return category.auto_close_ms
        return (await self.ctx.guild_settings(ticket.guild_id)).auto_close_ms

    async def _post_request(self, ticket: Ticket) -> Ticket:
        """Post the Accept/Reject message once, and remember it."""
        request = ticket.close_request
        assert request is not None and ticket.channel_id is not None
        if request.message_id is not None:
            return ticket
        channel = int(ticket.channel_id)
        wanted = custom_ids.make(custom_ids.CLOSE_ACCEPT, ticket.number)
        message_id = await self.ctx.find_bot_message(channel, wanted)
        if message_id is None:
            timer = await self.ctx.timers.get(ticket.guild_id, ticket.number, TIMER)
            reason = self.ctx.cipher.decrypt(request.reason) if request.reason else None
            embed, buttons = close_views.close_request(
                ticket.number,
                request.requested_by,
                request.expect,
                reason,
                timer.due_at if timer else None,
                locale=await self.ctx.guild_locale(ticket.guild_id),
            )
            ping = request.expect == "creator"
            sent = await self.ctx.bot.get_partial_messageable(channel).send(
                f"<@{ticket.creator_id}>" if ping else None,
                embed=embed,
                components=buttons,
                allowed_mentions=mention_ok([int(ticket.creator_id)]) if ping else NO_PINGS,
            )
            message_id = str(sent.id)
        return await self.ctx.tickets.set_close_request(
            ticket, _row(msgspec.structs.replace(request, message_id=message_id))
        )

    # Answering

    async def answer(
        self, inter: Interaction[Any], number: int, *, accept: bool, after_feedback: bool = False
    ) -> None:
        """Accept (close now, as the requester) or reject (the ticket stays open)."""
        guild_id = str(inter.guild_id) if inter.guild_id is not None else None
        ticket = await self.ctx.tickets.get(guild_id, number) if guild_id else None
        if ticket is None or ticket.channel_id != str(inter.channel_id):
            raise TicketError(Text("close_requests.wrong_channel"))
        if ticket.state == "closed":
            raise TicketError(Text("close_requests.closed_already", number=number))
        if ticket.state == "closing":
            if not accept:
                raise TicketError(Text("close_requests.closing_already", number=number))
            # An accept that died mid-way, delivered again: finish what it started.
            await defer(inter)
            await self.closing.finish(ticket, ticket.closed_by, None)
            await reply(inter, Text("close_requests.is_closed", number=number))
            return
        request = ticket.close_request
        user = str(inter.author.id)
        if request is None:
            if not accept and await self._rejected_by(inter, ticket, user):
                # A reject delivered again after it dropped the request: finish it.
                await defer(inter)
                await self.ctx.timers.cancel(ticket.guild_id, ticket.number, TIMER)
                await reply(inter, REJECTED)
                return
            raise TicketError(Text("close_requests.gone"))
        category = await self.ctx.category_of(ticket)
        if request.expect == "creator" and user != ticket.creator_id:
            raise TicketError(
                Text("close_requests.creator_answers", user=f"<@{ticket.creator_id}>")
            )
        if request.expect == "staff" and not is_staff(inter, category):
            raise TicketError(Text("close_requests.staff_answers"))
        if not accept:
            await defer(inter)
            locale = await self.ctx.guild_locale(ticket.guild_id)
            text = rejected_text(user, locale)
            await self._settle(ticket, request, close_views.settled(text, close_views.RED, locale))
            await self.ctx.tickets.drop_close_request(ticket, request.at)
            await self.ctx.timers.cancel(ticket.guild_id, ticket.number, TIMER)
            await reply(inter, REJECTED)
            return
        creator = user == ticket.creator_id
        if creator and not after_feedback and await self._wants_feedback(ticket, category):
            await self._ask_feedback(inter, ticket, feedback.ACCEPT, None)
            return
        await defer(inter)
        locale = await self.ctx.guild_locale(ticket.guild_id)
        text = t(locale, "close_requests.accepted", user=f"<@{user}>")
        await self._settle(ticket, request, close_views.settled(text, close_views.GREEN, locale))
        await reply(inter, Text("close_requests.closing", number=number))
        reason = self.ctx.cipher.decrypt(request.reason) if request.reason else None
        await self.closing.finish(ticket, request.requested_by, reason)

    async def _rejected_by(self, inter: Interaction[Any], ticket: Ticket, user: str) -> bool:
        """Whether the request this button is on now reads as rejected by ``user``."""
        message = getattr(inter, "message", None)
        if message is None or ticket.channel_id is None:
            return False
        try:
            current = await self.ctx.bot.http.get_message(int(ticket.channel_id), message.id)
        except disnake.NotFound:
            return False
        embeds = cast(list[dict[str, Any]], current.get("embeds") or [])
        rejected = rejected_text(user, await self.ctx.guild_locale(ticket.guild_id))
        return bool(embeds) and embeds[0].get("description") == rejected

    async def _settle(self, ticket: Ticket, request: CloseRequest, embed: disnake.Embed) -> None:
        """Turn the request message into what became of it, without buttons."""
        if request.message_id is None or ticket.channel_id is None:
            return
        # Deleted by someone: the answer stands anyway.
        with contextlib.suppress(disnake.NotFound):
            await self.ctx.bot.http.edit_message(
                int(ticket.channel_id),
                int(request.message_id),
                content=None,
                embeds=[embed.to_dict()],
                components=[],
            )

    # Feedback on the way

    async def _wants_feedback(self, ticket: Ticket, category: Category | None) -> bool:
        if category is None or not category.feedback:
            return False
        return await self.closing.feedback.get(ticket.guild_id, ticket.number) is None

    async def _ask_feedback(
        self, inter: Interaction[Any], ticket: Ticket, step: str, reason: str | None
    ) -> None:
        key = keys.close_feedback(
            self.ctx.tenant, ticket.guild_id, ticket.number, str(inter.author.id)
        )
        stored = self.ctx.cipher.encrypt(reason) if reason else ""
        await self.ctx.cache.set(key, stored.encode(), ttl_ms=FEEDBACK_TTL_MS)
        locale = reader_locale(inter, await self.ctx.guild_locale(ticket.guild_id))
        await inter.response.send_modal(**feedback.modal(ticket.number, step, locale))

    async def _feedback_submitted(self, inter: ModalInteraction[Any], arguments: list[str]) -> None:
        number = custom_ids.number(arguments)
        step = arguments[1] if len(arguments) == 2 else ""
        if step not in {feedback.REQUEST, feedback.ACCEPT}:
            raise custom_ids.BadCustomId(".".join(arguments))
        ticket = await self.ctx.ticket_here(inter)
        if ticket.number != number:
            raise TicketError(Text("close_requests.wrong_form"))
        if str(inter.author.id) != ticket.creator_id:
            raise TicketError(Text("close_requests.feedback_creator_only"))
        rating, comment = feedback.answers(inter)
        await self.closing.feedback.save(
            ticket.guild_id,
            ticket.number,
            str(inter.author.id),
            rating,
            self.ctx.cipher.encrypt(comment) if comment else None,
        )
        key = keys.close_feedback(
            self.ctx.tenant, ticket.guild_id, ticket.number, str(inter.author.id)
        )
        stored = await self.ctx.cache.get(key)
        reason = self.ctx.cipher.decrypt(stored.decode()) if stored else None
        # The feedback is saved, so continuing cannot ask for it again (v4's loop, #407).
        if step == feedback.REQUEST:
            await self.request(inter, reason, after_feedback=True)
        else:
            await self.answer(inter, number, accept=True, after_feedback=True)
        await self.ctx.cache.delete(key)

    # Cancelled by a message, or expired

    async def _message_created(self, data: bytes) -> None:
        event = decode("MESSAGE_CREATE", data, MessageEvent)
        if event.guild_id is None or event.author.bot or event.type not in _PERSON_MESSAGES:
            return
        ticket = await self.ctx.tickets.by_channel(event.channel_id)
        if ticket is None or ticket.state != "open" or ticket.close_request is None:
            return
        request = ticket.close_request
        if event.timestamp <= request.at:
            return  # written before the request (a late or repeated delivery)
        channel = int(event.channel_id)
        message_id = request.message_id or await self.ctx.find_bot_message(
            channel, custom_ids.make(custom_ids.CLOSE_ACCEPT, ticket.number)
        )
        if message_id is not None:
            with contextlib.suppress(disnake.NotFound):
                await self.ctx.bot.http.delete_message(channel, int(message_id))
        await self.ctx.tickets.drop_close_request(ticket, request.at)
        await self.ctx.timers.cancel(ticket.guild_id, ticket.number, TIMER)

    async def _expired(self, timer: Timer) -> None:
        ticket = await self.ctx.tickets.get(timer.guild_id, timer.number)
        if ticket is None or ticket.state == "closed":
            return
        if ticket.state == "closing":
            await self.closing.finish(ticket, ticket.closed_by, None)
            return
        request = ticket.close_request
        if ticket.state != "open" or request is None:
            return
        reason = self.ctx.cipher.decrypt(request.reason) if request.reason else None
        await self.closing.finish(ticket, request.requested_by, reason)


def _row(request: CloseRequest) -> dict[str, Any]:
    # None fields are left out: SurrealDB would read them as NONE inside the object anyway.
    return {k: v for k, v in msgspec.structs.asdict(request).items() if v is not None}


class CloseCommands(FeatureCog):
    """``/close`` inside a ticket."""

    def __init__(self, requests: CloseRequests) -> None:
        self.requests = requests

    @commands.slash_command(
        name=localised("cmd_core.close.name"),
        description=localised("cmd_core.close.description"),
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def close(
        self,
        inter: ApplicationCommandInteraction[Any],
        reason: str | None = commands.Param(
            default=None,
            max_length=MAX_REASON,
            name=localised("cmd_core.close.reason.name"),
            description=localised("cmd_core.close.reason.description"),
        ),
    ) -> None:
        await self.requests.request(inter, reason)
