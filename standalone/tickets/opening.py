"""Opening a ticket: from a click, a command or a DM, through the checks and the form,
to a channel (or private thread) with its opening message.

Every step can run twice (a redelivered event) without doing its work twice:
the database row is written before Discord is touched, and each Discord side
effect is looked for before it is made again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import disnake
from disnake.interactions.base import Interaction

from standalone import keys
from standalone.db import DatabaseError
from standalone.db.records import Answer, Category, GuildSettings, Question, Ticket
from standalone.db.tickets import CategoryFull
from standalone.i18n import Text, t
from standalone.observability import metrics
from standalone.tickets import custom_ids, figures, locks, references, views
from standalone.tickets.checks import Opener, category_full, check_can_open
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.notices import Notices
from standalone.tickets.replies import answer_locale, defer, reply
from standalone.tickets.ticket_log import ticket_created

log = logging.getLogger(__name__)

OPEN_LOCK_MS = 10_000
OPEN_LOCK_WAIT_S = 5.0
BUSY = Text("closing.busy")
# Why a ticket whose open a restart cut short was closed (its close reason).
INTERRUPTED = "the bot restarted while the ticket was being opened"
ANTI_SPAM_MS = 5_000  # v4's per-member pause between two ticket starts
MAX_GUILD_CHANNELS = 30013  # Discord's error code
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week: tickets outlive shorter defaults
# How long a message picked with "Create ticket from message" may be referred to: as
# long as the interaction that offered it lives, enough to fill in the form.
OFFER_TTL_MS = 15 * 60 * 1000


def channel_refusal(exc: disnake.HTTPException) -> Text | None:
    """What to tell the member when Discord will never create the channel; None if it might."""
    if exc.status == 403:
        return Text("opening.no_permission")
    if exc.status == 404:
        return Text("opening.parent_gone")
    if exc.status != 400:
        return None
    if "CHANNEL_PARENT_MAX_CHANNELS" in exc.text or "parent_id" in exc.text:
        return Text("checks.discord_category_full")
    if exc.code == MAX_GUILD_CHANNELS:
        return Text("opening.guild_full")
    return Text("opening.discord_refused", detail=exc.text)


def read_answer(question: Question, values: dict[str, Any]) -> str:
    """A question's answer from a submitted form, checked as Discord would not."""
    raw = values.get(question.key)
    if isinstance(raw, list):
        raw = raw[0] if raw else ""
    # A modified client can send anything as a select's values: only text is an answer.
    value = raw.strip() if isinstance(raw, str) else ""
    if question.kind == "select" and value and value not in question.options:
        raise TicketError(Text("opening.not_a_choice", value=repr(value), label=question.label))
    if question.required and not value:
        raise TicketError(Text("opening.answer_required", label=repr(question.label)))
    if value and not question.min_length <= len(value) <= question.max_length:
        raise TicketError(
            Text(
                "opening.answer_length",
                label=repr(question.label),
                min=question.min_length,
                max=question.max_length,
            )
        )
    return value


@dataclass(frozen=True)
class FormContext:
    """Where a ticket request came from, carried through custom ids.

    ``n``: nothing; ``t<number>``: refers to an earlier ticket; ``m<channel>-<message>``:
    made from a message; ``d<channel>-<message>``: made from a DM to the bot.
    """

    kind: str = "n"
    ticket: int | None = None
    channel_id: int | None = None
    message_id: int | None = None

    def encode(self) -> str:
        """The custom id argument."""
        if self.kind == "t":
            return f"t{self.ticket}"
        if self.kind in {"m", "d"}:
            return f"{self.kind}{self.channel_id}-{self.message_id}"
        return "n"

    @classmethod
    def parse(cls, raw: str) -> FormContext:
        """From a custom id argument; raises BadCustomId."""
        kind, rest = raw[:1], raw[1:]
        try:
            if kind == "n" and not rest:
                return cls()
            if kind == "t" and rest.isdigit():
                return cls("t", ticket=int(rest))
            if kind in {"m", "d"}:
                channel, _, message = rest.partition("-")
                return cls(kind, channel_id=int(channel), message_id=int(message))
        except ValueError:
            pass
        raise custom_ids.BadCustomId(f"bad form context {raw!r}")


@dataclass(frozen=True)
class Request:
    """Everything known about a ticket about to be opened."""

    guild_id: int
    category: Category
    user: disnake.abc.User
    opener: Opener
    context: FormContext
    topic: str | None = None
    answers: tuple[tuple[Question, str], ...] = ()


class Opening:
    """Starts tickets from every entry point and opens them."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.notices = Notices(ctx)

    # Where a request starts

    async def category(self, inter: Interaction[Any], key: str) -> Category:
        """The category a custom id names, refused when it is not of this guild."""
        # A menu value comes back as the client sends it: "" is no record id at all.
        category = await self.ctx.settings.category_by_key(key) if custom_ids.is_part(key) else None
        if category is None or (
            inter.guild_id is not None and category.guild_id != str(inter.guild_id)
        ):
            raise TicketError(Text("opening.category_gone"))
        return category

    async def opener(self, inter: Interaction[Any], guild_id: int) -> Opener:
        """The member facts; from the guild over REST when the interaction came from a DM."""
        if inter.guild_id is not None:
            return Opener.of(inter.author)
        try:
            member = await self.ctx.bot.http.get_member(guild_id, inter.author.id)
        except disnake.NotFound:
            raise TicketError(Text("opening.not_a_member")) from None
        roles = frozenset(int(r) for r in member.get("roles", []))
        until = disnake.utils.parse_time(member.get("communication_disabled_until"))
        return Opener(inter.author.id, roles, until)

    async def offer_message(self, inter: Interaction[Any], message: disnake.Message) -> None:
        """Remember that this member may refer to ``message``.

        Discord put it in the interaction of "Create ticket from message" only because
        the member can see it; no permission calculation of ours is needed.
        """
        assert inter.guild_id is not None
        key = keys.offered_message(
            self.ctx.tenant, str(inter.guild_id), inter.author.id, message.id
        )
        await self.ctx.cache.set(key, str(message.channel.id).encode(), ttl_ms=OFFER_TTL_MS)

    async def check_context(
        self, inter: Interaction[Any], category: Category, context: FormContext
    ) -> None:
        """Refuse a context this bot would not have offered here.

        It rides in a custom id, so it is untrusted: a DM's text must be read in the DM
        it came from, and a referenced message must be one this member was offered in
        the category's server, or a made-up id would copy into a ticket a message the
        member cannot see (another server's, or a hidden channel's).
        """
        if context.kind == "d":
            if inter.guild_id is not None or context.channel_id != inter.channel_id:
                raise custom_ids.BadCustomId(context.encode())
        elif context.kind == "t":
            # Own tickets, or those the member sees as staff; checked on every step.
            await references.allowed_ticket(self.ctx, inter, context.ticket or 0)
        elif context.kind == "m":
            assert context.message_id is not None
            key = keys.offered_message(
                self.ctx.tenant, category.guild_id, inter.author.id, context.message_id
            )
            if await self.ctx.cache.get(key) != str(context.channel_id).encode():
                raise TicketError(Text("opening.stale_message"))

    async def start(
        self, inter: Interaction[Any], category: Category, context: FormContext
    ) -> None:
        """Check the member may open a ticket here, then show the form or open it at once."""
        await self.check_context(inter, category, context)
        guild_id = int(category.guild_id)
        opener = await self.opener(inter, guild_id)
        # A redelivery of a start that already recorded its ticket finishes it: checked
        # again, the ticket would count against the member who is opening it.
        if await self.ctx.tickets.by_interaction(str(inter.id)) is None:
            # A specific refusal is worth more than "slow down", so check first.
            await check_can_open(self.ctx, guild_id, opener, category)
            await self._anti_spam(inter, guild_id)
        questions = await self.ctx.settings.questions(category.key)
        if context.kind == "d" and not questions:
            # The DM itself is the topic; nothing more to ask.
            topic = await self._dm_text(context)
            await self.finish(
                inter, Request(guild_id, category, inter.author, opener, context, topic)
            )
            return
        locale = await answer_locale(inter, await self.ctx.guild_locale(guild_id))
        modal = views.form(category, questions, context.encode(), locale)
        if modal is not None:
            await inter.response.send_modal(modal)
            return
        await self.finish(inter, Request(guild_id, category, inter.author, opener, context))

    async def _anti_spam(self, inter: Interaction[Any], guild_id: int) -> None:
        key = keys.open_pause(self.ctx.tenant, guild_id, inter.author.id)
        mine = str(inter.id).encode()
        # A redelivery of the same interaction is not spam.
        if (
            not await self.ctx.cache.set_if_absent(key, mine, ttl_ms=ANTI_SPAM_MS)
            and await self.ctx.cache.get(key) != mine
        ):
            raise TicketError(Text("opening.too_fast"))

    async def _dm_text(self, context: FormContext) -> str | None:
        assert context.channel_id is not None and context.message_id is not None
        try:
            message = await self.ctx.bot.http.get_message(context.channel_id, context.message_id)
        except disnake.NotFound:
            return None
        text = str(message.get("content") or "").strip()
        return text[: views.TOPIC_MAX] or None

    async def submitted(
        self, inter: Interaction[Any], category: Category, context: FormContext
    ) -> None:
        """The form came back: read the answers and open the ticket."""
        await self.check_context(inter, category, context)
        values: dict[str, Any] = getattr(inter, "values", {})
        questions = await self.ctx.settings.questions(category.key)
        answers: list[tuple[Question, str]] = []
        for question in questions:
            answers.append((question, read_answer(question, values)))
        topic: str | None = None
        if questions:
            if category.custom_topic:
                topic = next((v for q, v in answers if q.key == category.custom_topic), None)
        else:
            topic = str(values.get(custom_ids.TOPIC_FIELD, "")).strip()
            if not views.TOPIC_MIN <= len(topic) <= views.TOPIC_MAX:
                raise TicketError(
                    Text("opening.topic_length", min=views.TOPIC_MIN, max=views.TOPIC_MAX)
                )
        if context.kind == "d" and not topic:
            topic = await self._dm_text(context)
        guild_id = int(category.guild_id)
        opener = await self.opener(inter, guild_id)
        request = Request(
            guild_id, category, inter.author, opener, context, topic or None, tuple(answers)
        )
        await self.finish(inter, request)

    # Opening

    async def finish(self, inter: Interaction[Any], request: Request) -> Ticket:
        """Record the ticket, make its channel or thread, greet the member."""
        ticket = await self.ctx.tickets.by_interaction(str(inter.id))
        await defer(inter)
        if ticket is not None and ticket.state in {"closing", "closed"}:
            # Given up at a restart (or refused by Discord, or closed) before this
            # delivery came back: nothing is left to open, and no channel may be made.
            raise TicketError(Text("reliability.open_given_up"))
        try:
            if ticket is None:
                ticket = await self._record(inter, request)
            if ticket.state == "opening":
                # Also after a delivery that died between the row and its details.
                ticket = await self._record_details(ticket, request)
            ticket = await self._ensure_place(ticket, request)
        finally:
            # The pause only guards against starts piling up while one is under way.
            await self.ctx.cache.delete(
                keys.open_pause(self.ctx.tenant, request.guild_id, request.user.id)
            )
        await ticket_created(self.ctx, ticket)
        await reply(inter, Text("opening.open", channel=f"<#{ticket.channel_id}>"))
        return ticket

    async def give_up_interrupted(self, before: datetime) -> int:
        """At start, when no event outlived the last process: end the opens it cut short.

        A ticket still ``opening`` has no delivery left to finish it, and would keep
        its member's place and its channel for ever. One that never got a channel is
        given up at once; one with a channel (recorded, or found by its marks) is set
        ``closing``, and the start-up reconcile closes it as any interrupted close:
        transcript, summary to the member, log entry, channel removed. The member was
        never told the ticket was open, so they open another. Only tickets created
        ``before`` this start: a worker starting beside this one may be opening newer
        ones. Returns how many.
        """
        reason = self.ctx.cipher.encrypt(INTERRUPTED)
        count = 0
        for ticket in await self.ctx.tickets.active():
            if ticket.state != "opening" or ticket.created_at >= before:
                continue
            channel_id = ticket.channel_id
            if channel_id is None and ticket.channel_requested:
                category = await self.ctx.category_of(ticket)
                if category is not None:
                    channel_id = await self._find_place(ticket, category)
                if channel_id is not None:
                    await self.ctx.tickets.set_channel(ticket.guild_id, ticket.number, channel_id)
                    ticket = await self.ctx.tickets.get(ticket.guild_id, ticket.number) or ticket
            if channel_id is None:
                await self.ctx.tickets.abandon(ticket, reason)
            else:
                await self.ctx.tickets.mark_closing(ticket, "system", reason)
            log.info(
                "ticket %s#%s: open cut short by a restart, given up",
                ticket.guild_id,
                ticket.number,
            )
            count += 1
        return count

    async def _record(self, inter: Interaction[Any], request: Request) -> Ticket:
        category = request.category
        cipher = self.ctx.cipher
        async with self._category_lock(request.guild_id, category.key, inter.id):
            try:
                # Checked again under the lock: of two forms submitted at once, by one
                # member or by two for the category's last place, one opens a ticket.
                await check_can_open(self.ctx, request.guild_id, request.opener, category)
                return await self.ctx.tickets.create(
                    str(request.guild_id),
                    category.key,
                    str(request.user.id),
                    str(inter.id),
                    cipher.encrypt(request.topic) if request.topic else None,
                    # Counted in the database too, should the lock ever have expired.
                    total_limit=category.total_limit,
                )
            except (CategoryFull, DatabaseError) as exc:
                # Two deliveries of one interaction racing: the unique index (or the
                # limit, when the other took the last place) let one win.
                existing = await self.ctx.tickets.by_interaction(str(inter.id))
                if existing is None:
                    if isinstance(exc, CategoryFull):
                        raise category_full(category) from None
                    raise
                log.info(
                    "interaction %s already opened ticket #%s (%s)", inter.id, existing.number, exc
                )
                return existing

    @contextlib.asynccontextmanager
    async def _category_lock(
        self, guild_id: int, category_key: str, holder: int
    ) -> AsyncIterator[None]:
        """One open at a time per category, in every process sharing the coordination port.

        The database's transactions alone were seen to let two concurrent opens both
        take a category's last place, so the check and the insert run under this lock.
        """
        key = keys.open_lock(self.ctx.tenant, guild_id, category_key)
        try:
            # The same helper as a reopen's, which takes this lock too: renewed while held.
            async with locks.held(
                self.ctx.cache, key, str(holder), ttl_ms=OPEN_LOCK_MS, wait_s=OPEN_LOCK_WAIT_S
            ):
                yield
        except locks.Busy:
            raise TicketError(BUSY) from None

    async def _record_details(self, ticket: Ticket, request: Request) -> Ticket:
        """Answers, thread mode and references: each write can be repeated as it is."""
        category, cipher = request.category, self.ctx.cipher
        if request.answers:
            await self.ctx.tickets.save_answers(
                ticket,
                [
                    Answer(question=q.key, label=q.label, value=cipher.encrypt(v), position=n)
                    for n, (q, v) in enumerate(request.answers)
                ],
            )
        extra: dict[str, Any] = {"thread": category.mode == "thread"}
        if request.context.kind == "t":
            referenced = await self.ctx.tickets.get(
                str(request.guild_id), request.context.ticket or 0
            )
            # Access was checked with the interaction (check_context) before this.
            if referenced is not None:
                extra["references_ticket"] = referenced.number
        if request.context.kind == "m":
            extra["references_message"] = str(request.context.message_id)
        return await self.ctx.tickets.update_fields(ticket, **extra)

    async def _ensure_place(self, ticket: Ticket, request: Request) -> Ticket:
        category = request.category
        channel_id = ticket.channel_id
        if channel_id is None and ticket.channel_requested:
            channel_id = await self._find_place(ticket, category)
        # A channel made just now holds no message yet: nothing to look for in it.
        made_now = channel_id is None
        if channel_id is None:
            await self.ctx.tickets.request_channel(ticket.guild_id, ticket.number)
            try:
                channel_id = await self._create_place(ticket, request)
            except disnake.HTTPException as exc:
                refusal = channel_refusal(exc)
                if refusal is None:
                    raise  # a passing fault: the event is retried
                # Retrying cannot help; free the member's slot and say why.
                reason = refusal.render(await self.ctx.guild_locale(ticket.guild_id))
                await self.ctx.tickets.abandon(ticket, self.ctx.cipher.encrypt(reason))
                raise TicketError(refusal) from None
        if ticket.channel_id is None:
            await self.ctx.tickets.set_channel(ticket.guild_id, ticket.number, channel_id)
        if ticket.state != "opening":
            return await self.ctx.tickets.get(ticket.guild_id, ticket.number) or ticket
        if category.mode == "thread":
            # Not part of making the thread: a thread found again after a crash still
            # needs its creator, and adding a member twice changes nothing.
            await self.ctx.bot.http.add_user_to_thread(int(channel_id), int(ticket.creator_id))
        message_id = ticket.opening_message_id
        if message_id is None and not made_now:
            message_id = await self.ctx.find_bot_message(
                int(channel_id), custom_ids.make(custom_ids.CLOSE, ticket.number)
            )
        if message_id is None:
            message_id = await self._greet(ticket, request, int(channel_id))
        await self._pin(ticket, int(channel_id), message_id)
        await self.notices.after_open(ticket, category, int(channel_id))
        opened = await self.ctx.tickets.mark_open(
            ticket.guild_id, ticket.number, channel_id, message_id
        )
        # Counted once: a redelivery finds the ticket no longer "opening" above.
        metrics.tickets_opened.labels(self.ctx.tickets.tenant).inc()
        return opened

    async def _create_place(self, ticket: Ticket, request: Request) -> str:
        category, user = request.category, request.user
        name = views.channel_name(category, ticket.number, user.name, user.display_name)
        http = self.ctx.bot.http
        reason = f"Ticket #{ticket.number} opened by {ticket.creator_id}"
        if category.mode == "thread":
            if category.thread_channel is None:
                raise TicketError(Text("opening.no_thread_channel"))
            thread = await http.start_thread_without_message(
                int(category.thread_channel),
                name=name,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                type=disnake.ChannelType.private_thread.value,
                invitable=False,
                rate_limit_per_user=category.slowmode_s,
                reason=reason,
            )
            return str(thread["id"])
        if category.discord_category is None:
            raise TicketError(Text("opening.no_discord_category"))
        options: dict[str, Any] = {
            "name": name,
            "parent_id": category.discord_category,
            "topic": views.channel_topic(ticket.number, int(ticket.creator_id)),
            "permission_overwrites": views.overwrites(
                request.guild_id, int(ticket.creator_id), category.staff_roles, self.ctx.bot_id
            ),
        }
        if category.slowmode_s:
            options["rate_limit_per_user"] = category.slowmode_s
        created = await http.create_channel(
            request.guild_id, disnake.ChannelType.text.value, reason=reason, **options
        )
        return str(created["id"])

    async def _find_place(self, ticket: Ticket, category: Category) -> str | None:
        """The channel or thread an earlier attempt made but died before recording.

        Several bots may share a server and a category, and each numbers its own
        tickets, so a name or topic alone is not proof: a channel must also carry
        this bot's own permission overwrite, a thread must be owned by this bot.
        """
        me = str(self.ctx.bot_id)
        http = self.ctx.bot.http
        if category.mode == "thread":
            active = await http.get_active_threads(int(ticket.guild_id))
            for thread in cast(list[dict[str, Any]], active.get("threads", [])):
                if (
                    str(thread.get("parent_id")) == category.thread_channel
                    and str(thread.get("owner_id")) == me
                    and f"-{views.render_number(ticket.number)}" in str(thread.get("name"))
                ):
                    return str(thread["id"])
            return None
        topic = views.channel_topic(ticket.number, int(ticket.creator_id))
        for channel in await http.get_all_guild_channels(int(ticket.guild_id)):
            if str(channel.get("parent_id")) != category.discord_category:
                continue
            if channel.get("topic") != topic:
                continue
            overwrites = cast(list[dict[str, Any]], channel.get("permission_overwrites") or [])
            if any(str(o.get("id")) == me and int(o.get("type", 0)) == 1 for o in overwrites):
                return str(channel["id"])
        return None

    async def _greet(self, ticket: Ticket, request: Request, channel_id: int) -> str:
        category, user = request.category, request.user
        settings = await self.ctx.guild_settings(ticket.guild_id)
        locale = await self.ctx.guild_locale(ticket.guild_id)
        stats = (
            await figures.category_figures(
                self.ctx.cache, self.ctx.tickets, ticket.guild_id, category.key
            )
            if views.wants_stats(category.opening_message)
            else None
        )
        embeds = [views.opening_embed(category, settings, ticket.number, user, stats, locale)]
        details = views.answers_embed(
            [
                Answer(question=q.key, label=q.label, value=v, position=n)
                for n, (q, v) in enumerate(request.answers)
            ],
            request.topic,
            settings,
            locale,
        )
        if details is not None:
            embeds.append(details)
        referred, transcript = await self._reference_embeds(ticket, request, settings, locale)
        embeds += referred
        buttons = views.opening_components(
            ticket.number,
            editable=bool(request.answers or request.topic),
            claimable=settings.claim_button and category.claiming,
            closable=settings.close_button,
            locale=locale,
        )
        buttons += transcript
        pings = " ".join(f"<@&{r}>" for r in category.ping_roles)
        who = f"<@{user.id}> {pings}".strip()
        content = t(locale, "opening.opened", user=who, category=category.name)
        allowed = disnake.AllowedMentions(
            users=[disnake.Object(user.id)],
            roles=[disnake.Object(int(r)) for r in category.ping_roles],
            everyone=False,
        )
        # Close must always be reachable (redelivery finds the message by it),
        # so a guild that hides the button still gets it on this marker lookup.
        if not settings.close_button:
            buttons.append(
                disnake.ui.Button(
                    label=t(locale, "views.close"),
                    style=disnake.ButtonStyle.danger,
                    custom_id=custom_ids.make(custom_ids.CLOSE, ticket.number),
                )
            )
        sent = await self.ctx.bot.get_partial_messageable(channel_id).send(
            content, embeds=embeds[:10], components=buttons, allowed_mentions=allowed
        )
        return str(sent.id)

    async def _pin(self, ticket: Ticket, channel_id: int, message_id: str) -> None:
        """Pin the opening message, as v4 does.

        Safe to repeat: pinning a pinned message changes nothing and posts no notice.
        Discord's "pinned a message" notice is deleted when it arrives (pin_notices.py).
        A pin Discord refuses (no permission, too many pins) leaves the ticket open
        without it.
        """
        try:
            await self.ctx.bot.http.pin_message(
                channel_id, int(message_id), reason=f"Ticket #{ticket.number} opened"
            )
        except disnake.HTTPException as exc:
            if exc.status not in {400, 403, 404}:
                raise  # a passing fault: the event is retried
            log.info(
                "ticket %s#%s: opening message not pinned: %s", ticket.guild_id, ticket.number, exc
            )

    async def _reference_embeds(
        self, ticket: Ticket, request: Request, settings: GuildSettings, locale: str
    ) -> tuple[list[disnake.Embed], list[disnake.ui.Button[None]]]:
        """What the ticket refers to (standalone/tickets/references.py), in the guild's language."""
        context = request.context
        if context.kind == "t" and ticket.references_ticket is not None:
            earlier = await self.ctx.tickets.get(ticket.guild_id, ticket.references_ticket)
            if earlier is None:
                return [], []
            embed, buttons = await references.ticket_reference(self.ctx, earlier, locale, settings)
            return [embed], buttons
        if context.kind == "m" and context.channel_id and context.message_id:
            quoted = await references.message_reference(
                self.ctx, ticket, context.channel_id, context.message_id, locale, settings
            )
            return ([quoted] if quoted else []), []
        return [], []
