"""Opening a ticket: panels, the form, checks, and the channel with its greeting.

Every step can run twice (a redelivered event) without doing its work twice:
the database row is written before Discord is touched, and each Discord side
effect is looked for before it is made again.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.message import MessageInteraction
from disnake.interactions.modal import ModalInteraction

from standalone import keys
from standalone.db import DatabaseError
from standalone.db.records import Category, Ticket
from standalone.tickets import custom_ids, views
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import NO_PINGS, defer, reply
from standalone.tickets.router import ComponentRouter

log = logging.getLogger(__name__)

OPEN_LOCK_MS = 10_000
MAX_GUILD_CHANNELS = 30013  # Discord's error code


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


class Opening:
    """Panels and the path from a click to an open ticket."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.bot = ctx.bot
        self.repo = ctx.tickets
        self.cipher = ctx.cipher
        self.cache = ctx.cache

    @property
    def tenant(self) -> str:
        """The tenant this feature works for."""
        return self.ctx.tenant

    def register(self, components: ComponentRouter) -> None:
        """Take the panel button and the topic form."""
        components.button(custom_ids.OPEN, self._open_button)
        components.modal(custom_ids.TOPIC, self._topic_submitted)

    def cog(self) -> commands.Cog:
        """The slash commands of this feature."""
        return OpeningCommands(self)

    async def _open_button(self, inter: MessageInteraction[Any], arguments: list[str]) -> None:
        await self.start_open(inter, arguments[0])

    async def _topic_submitted(self, inter: ModalInteraction[Any], arguments: list[str]) -> None:
        topic = inter.text_values.get(custom_ids.TOPIC_FIELD, "")
        await self.finish_open(inter, arguments[0], topic)

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
        if await self.ctx.find_bot_message(inter.channel_id, wanted) is None:
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
        message_id = ticket.opening_message_id or await self.ctx.find_bot_message(
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


class OpeningCommands(FeatureCog):
    """``/panel`` for staff."""

    def __init__(self, opening: Opening) -> None:
        self.opening = opening

    @commands.slash_command(
        name="panel",
        description="Post a panel with an Open ticket button in this channel.",
        contexts=disnake.InteractionContextTypes(guild=True),
        default_member_permissions=disnake.Permissions(manage_guild=True),
    )
    async def panel(
        self,
        inter: ApplicationCommandInteraction[Any],
        staff_role: disnake.Role = commands.Param(description="Role that handles these tickets"),
        category: disnake.CategoryChannel | None = commands.Param(
            default=None, description="Channel category for ticket channels (made if omitted)"
        ),
        name: str = commands.Param(
            default="Support", max_length=50, description="Name of this kind of ticket"
        ),
    ) -> None:
        await self.opening.post_panel(inter, staff_role, category, name)
