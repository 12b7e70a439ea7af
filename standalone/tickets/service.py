"""The ticket lifecycle for one tenant: panel, open, archive, close.

Every step can run twice (a redelivered event) without doing its work twice:
the database row is written before Discord is touched, and each Discord side
effect is looked for before it is made again.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import Any, cast

import disnake
import msgspec
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.base import Interaction
from disnake.interactions.message import MessageInteraction
from disnake.interactions.modal import ModalInteraction

from emulation.ports import Cache
from standalone import keys
from standalone.crypto import Cipher
from standalone.db import DatabaseError
from standalone.db.records import Category, Ticket
from standalone.db.tickets import TicketRepository
from standalone.discord_bridge import StreamBot, member_role_ids
from standalone.tickets import custom_ids, views
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import NO_PINGS, defer, reply
from standalone.tickets.transcript import TranscriptHeader, TranscriptMessage, render_html
from storage.ports import ObjectStore

log = logging.getLogger(__name__)

OPEN_LOCK_MS = 10_000
MAX_GUILD_CHANNELS = 30013  # Discord's error code


class MessageAuthor(msgspec.Struct, frozen=True):
    """The part of a message author the archive keeps."""

    id: str
    username: str
    global_name: str | None = None
    bot: bool = False


class EmbedField(msgspec.Struct, frozen=True):
    """One field of an embed."""

    name: str = ""
    value: str = ""


class Embed(msgspec.Struct, frozen=True):
    """The text of an embed, which the transcript shows under the message."""

    title: str | None = None
    description: str | None = None
    fields: list[EmbedField] = []

    def text(self) -> str:
        """The embed as plain lines."""
        lines = [part for part in (self.title, self.description) if part]
        lines += [f"{field.name}: {field.value}" for field in self.fields]
        return "\n".join(lines)


class MessageEvent(msgspec.Struct, frozen=True):
    """The part of a MESSAGE_CREATE payload the archive keeps."""

    id: str
    channel_id: str
    author: MessageAuthor
    timestamp: datetime
    content: str = ""
    guild_id: str | None = None
    embeds: list[Embed] = []

    def text(self) -> str:
        """Content and embeds, as the transcript shows them."""
        return "\n".join(part for part in [self.content, *(e.text() for e in self.embeds)] if part)


def channel_refusal(exc: disnake.HTTPException) -> str | None:
    """What to tell the member when Discord will never create the channel; None if it might."""
    if exc.status == 403:
        return (
            "I am not allowed to create channels in the ticket category. "
            "Ask an admin to give me the Manage Channels permission there."
        )
    if exc.status != 400:
        return None
    if "CHANNEL_PARENT_MAX_CHANNELS" in exc.text or "parent_id" in exc.text:
        return (
            "The ticket category is full: Discord allows 50 channels per category. "
            "Please ask staff to close old tickets or to use another category."
        )
    if exc.code == MAX_GUILD_CHANNELS:
        return "This server has reached Discord's limit of 500 channels."
    return f"Discord refused to create the ticket channel: {exc.text}"


class TicketService:
    """Opens, archives and closes tickets of one tenant."""

    def __init__(
        self,
        *,
        bot: StreamBot,
        repo: TicketRepository,
        store: ObjectStore,
        cipher: Cipher,
        cache: Cache,
    ) -> None:
        self.bot = bot
        self.repo = repo
        self.store = store
        self.cipher = cipher
        self.cache = cache

    @property
    def tenant(self) -> str:
        """The tenant this service works for."""
        return self.repo.tenant

    # Panels

    async def post_panel(
        self,
        inter: ApplicationCommandInteraction[Any],
        staff_role: disnake.Role,
        discord_category: disnake.abc.GuildChannel | None,
        name: str,
    ) -> None:
        """Create or update a ticket category and post its panel in this channel."""
        if inter.guild_id is None:
            raise TicketError("Panels can only be posted in a server.")
        if not inter.permissions.manage_guild:
            raise TicketError("You need the Manage Server permission to post a panel.")
        name = name.strip()
        if not 1 <= len(name) <= 50:
            raise TicketError("The category name must be 1 to 50 characters long.")
        if discord_category is not None and not isinstance(
            discord_category, disnake.CategoryChannel
        ):
            raise TicketError("Pick a channel category (not a text channel) for the tickets.")
        await defer(inter)
        # A redelivered /panel continues from what the first delivery recorded.
        category = await self.repo.category_by_interaction(str(inter.id))
        if category is None:
            category = await self.repo.save_category(
                str(inter.guild_id),
                name,
                str(discord_category.id) if discord_category else None,
                [str(staff_role.id)],
                interaction_id=str(inter.id),
            )
        if category.discord_category is None:
            created = await self.bot.http.create_channel(
                inter.guild_id,
                disnake.ChannelType.category.value,
                name=name[:100],
                reason="Ticket category",
            )
            category = await self.repo.set_category_channel(category, str(created["id"]))
        wanted = custom_ids.make(custom_ids.OPEN, category.key)
        if await self._find_bot_message(inter.channel_id, wanted) is None:
            embed, buttons = views.panel(
                category, f"{name} tickets", "Click the button below to open a private ticket."
            )
            await self.bot.get_partial_messageable(inter.channel_id).send(
                embed=embed, components=buttons, allowed_mentions=NO_PINGS
            )
        await reply(inter, f"Panel posted. Tickets will open under <#{category.discord_category}>.")

    # Opening

    async def _category(self, guild_id: int | None, key: str) -> Category:
        category = await self.repo.category(str(guild_id), key) if guild_id else None
        if category is None:
            raise TicketError("This ticket category no longer exists. Ask staff for a new panel.")
        return category

    async def _check_can_open(self, guild_id: int, member_id: int, category: Category) -> None:
        active = await self.repo.count_active(str(guild_id), str(member_id), category.key)
        if active >= category.member_limit:
            raise TicketError(
                f"You already have {active} open ticket(s) in {category.name}; "
                "please use the one you have."
            )

    async def start_open(self, inter: MessageInteraction[Any], category_key: str) -> None:
        """Panel button: check the member may open one, then ask for the topic."""
        category = await self._category(inter.guild_id, category_key)
        assert inter.guild_id is not None
        await self._check_can_open(inter.guild_id, inter.author.id, category)
        await inter.response.send_modal(views.topic_modal(category))

    async def finish_open(
        self, inter: ModalInteraction[Any], category_key: str, topic: str
    ) -> Ticket:
        """Topic submitted: record the ticket, make its channel, greet the member."""
        category = await self._category(inter.guild_id, category_key)
        assert inter.guild_id is not None
        topic = topic.strip()
        if not views.TOPIC_MIN <= len(topic) <= views.TOPIC_MAX:
            raise TicketError(
                f"The topic must be {views.TOPIC_MIN} to {views.TOPIC_MAX} characters long."
            )
        ticket = await self.repo.by_interaction(str(inter.id))
        await defer(inter)
        if ticket is None:
            ticket = await self._record(inter, category, topic)
        ticket = await self._ensure_channel(ticket, category, inter.author, topic)
        await reply(inter, f"Your ticket is open: <#{ticket.channel_id}>")
        return ticket

    async def _record(self, inter: ModalInteraction[Any], category: Category, topic: str) -> Ticket:
        assert inter.guild_id is not None
        lock = keys.open_lock(self.tenant, inter.guild_id, inter.author.id, category.key)
        if not await self.cache.set_if_absent(lock, b"1", ttl_ms=OPEN_LOCK_MS):
            raise TicketError("Your ticket is already being opened; one moment please.")
        try:
            await self._check_can_open(inter.guild_id, inter.author.id, category)
            return await self.repo.create(
                str(inter.guild_id),
                category.key,
                str(inter.author.id),
                str(inter.id),
                self.cipher.encrypt(topic),
            )
        except DatabaseError as exc:
            # Two deliveries of one interaction racing: the unique index let one win.
            existing = await self.repo.by_interaction(str(inter.id))
            if existing is None:
                raise
            log.info(
                "interaction %s already opened ticket #%s (%s)", inter.id, existing.number, exc
            )
            return existing
        finally:
            await self.cache.delete(lock)

    async def _ensure_channel(
        self, ticket: Ticket, category: Category, creator: disnake.abc.User, topic: str
    ) -> Ticket:
        guild_id = int(ticket.guild_id)
        assert self.bot.user is not None
        channel_id = ticket.channel_id
        if channel_id is None and ticket.channel_requested:
            channel_id = await self._find_channel(guild_id, category, ticket)
        if channel_id is None:
            if category.discord_category is None:
                raise TicketError("This ticket category has no channel category yet; ask staff.")
            await self.repo.request_channel(ticket.guild_id, ticket.number)
            try:
                created = await self.bot.http.create_channel(
                    guild_id,
                    disnake.ChannelType.text.value,
                    name=views.channel_name(category, ticket.number, creator.name),
                    parent_id=category.discord_category,
                    topic=views.channel_topic(ticket.number, int(ticket.creator_id)),
                    permission_overwrites=views.overwrites(
                        guild_id, int(ticket.creator_id), category.staff_roles, self.bot.user.id
                    ),
                    reason=f"Ticket #{ticket.number} opened by {ticket.creator_id}",
                )
            except disnake.HTTPException as exc:
                refusal = channel_refusal(exc)
                if refusal is None:
                    raise  # a passing fault: the event is retried
                # Retrying cannot help; free the member's slot and say why.
                await self.repo.abandon(ticket, self.cipher.encrypt(refusal))
                raise TicketError(refusal) from None
            channel_id = str(created["id"])
        if ticket.channel_id is None:
            await self.repo.set_channel(ticket.guild_id, ticket.number, channel_id)
        if ticket.state != "opening":
            return await self.repo.get(ticket.guild_id, ticket.number) or ticket
        wanted = custom_ids.make(custom_ids.CLOSE, ticket.number)
        message_id = ticket.opening_message_id or await self._find_bot_message(
            int(channel_id), wanted
        )
        if message_id is None:
            content, embed, buttons = views.opening(category, ticket.number, creator, topic)
            sent = await self.bot.get_partial_messageable(int(channel_id)).send(
                content,
                embed=embed,
                components=buttons,
                allowed_mentions=disnake.AllowedMentions(
                    users=[disnake.Object(creator.id)], roles=False, everyone=False
                ),
            )
            message_id = str(sent.id)
        return await self.repo.mark_open(ticket.guild_id, ticket.number, channel_id, message_id)

    async def _find_channel(self, guild_id: int, category: Category, ticket: Ticket) -> str | None:
        """The channel an earlier attempt made but died before recording.

        Several bots may share a server and a category, and each numbers its own
        tickets, so the topic alone is not proof: the channel must also carry this
        bot's own permission overwrite.
        """
        assert self.bot.user is not None
        topic = views.channel_topic(ticket.number, int(ticket.creator_id))
        me = str(self.bot.user.id)
        for channel in await self.bot.http.get_all_guild_channels(guild_id):
            if str(channel.get("parent_id")) != category.discord_category:
                continue
            if channel.get("topic") != topic:
                continue
            overwrites = cast(list[dict[str, Any]], channel.get("permission_overwrites") or [])
            if any(str(o.get("id")) == me and int(o.get("type", 0)) == 1 for o in overwrites):
                return str(channel["id"])
        return None

    async def _find_bot_message(self, channel_id: int, custom_id: str) -> str | None:
        """A message of this bot with a given button that an earlier attempt posted."""
        assert self.bot.user is not None
        for message in await self.bot.http.logs_from(channel_id, 20):
            if str(message["author"]["id"]) != str(self.bot.user.id):
                continue
            rows = cast(list[dict[str, Any]], message.get("components") or [])
            for row in rows:
                for component in row.get("components") or []:
                    if component.get("custom_id") == custom_id:
                        return str(message["id"])
        return None

    # During the ticket

    async def archive(self, event: MessageEvent) -> bool:
        """Keep a message sent in a ticket channel; False when it is not a ticket's."""
        ticket = await self.repo.by_channel(event.channel_id)
        if ticket is None or ticket.state == "closed":
            return False
        await self.repo.archive_message(
            ticket,
            message_id=event.id,
            author_id=event.author.id,
            author_name=event.author.global_name or event.author.username,
            author_bot=event.author.bot,
            content=self.cipher.encrypt(event.text()),
            created_at=event.timestamp,
        )
        return True

    # Closing

    async def channel_deleted(self, channel_id: str) -> Ticket | None:
        """Someone deleted a ticket's channel in Discord: close the ticket with what we have.

        A ticket already ``closing`` is left to the close that deleted the channel.
        """
        ticket = await self.repo.by_channel(channel_id)
        if ticket is None or ticket.state not in {"open", "opening"}:
            return None
        category = await self.repo.category(ticket.guild_id, ticket.category)
        ticket = await self.repo.mark_closing(
            ticket, "discord", self.cipher.encrypt("channel deleted")
        )
        key = await self._write_transcript(ticket, category)
        return await self.repo.mark_closed(ticket, key)

    def _is_staff(self, inter: Interaction[Any], category: Category | None) -> bool:
        if inter.permissions.manage_guild or inter.permissions.administrator:
            return True
        staff = {int(role) for role in category.staff_roles} if category else set()
        return bool(staff & member_role_ids(inter.author))

    async def close(self, inter: Interaction[Any], reason: str | None) -> Ticket:
        """Close the ticket of this channel: transcript, channel deleted, row closed."""
        ticket = await self.repo.by_channel(str(inter.channel_id))
        if ticket is None:
            raise TicketError("This channel is not a ticket.")
        if ticket.state == "closed":
            raise TicketError("This ticket is already closed.")
        category = await self.repo.category(ticket.guild_id, ticket.category)
        if str(inter.author.id) != ticket.creator_id and not self._is_staff(inter, category):
            raise TicketError("Only the member who opened this ticket or staff can close it.")
        if reason is not None and len(reason) > 500:
            raise TicketError("The reason can be at most 500 characters long.")
        await defer(inter)
        if ticket.state != "closing":
            encrypted = self.cipher.encrypt(reason) if reason else None
            ticket = await self.repo.mark_closing(ticket, str(inter.author.id), encrypted)
        key = await self._write_transcript(ticket, category)
        await reply(inter, f"Ticket #{ticket.number} is closed; its transcript is saved.")
        assert ticket.channel_id is not None
        # NotFound: an earlier attempt, or a person, deleted it already.
        with contextlib.suppress(disnake.NotFound):
            await self.bot.http.delete_channel(
                int(ticket.channel_id), reason=f"Ticket #{ticket.number} closed"
            )
        return await self.repo.mark_closed(ticket, key)

    async def _write_transcript(self, ticket: Ticket, category: Category | None) -> str:
        archived = await self.repo.archived(ticket)
        messages = [
            TranscriptMessage(
                author_id=m.author_id,
                author_name=m.author_name,
                author_bot=m.author_bot,
                content=self.cipher.decrypt(m.content),
                created_at=m.created_at,
                edited=m.edited,
                deleted=m.deleted,
            )
            for m in archived
        ]
        header = TranscriptHeader(
            guild_id=ticket.guild_id,
            number=ticket.number,
            category=category.name if category else "(deleted category)",
            creator_id=ticket.creator_id,
            topic=self.cipher.decrypt(ticket.topic) if ticket.topic else None,
            opened_at=ticket.created_at,
            closed_at=ticket.closed_at or datetime.now(UTC),
            closed_by=ticket.closed_by or "automation",
        )
        key = keys.transcript(ticket.guild_id, ticket.number)
        await self.store.put(
            key, render_html(header, messages).encode(), content_type="text/html; charset=utf-8"
        )
        return key
