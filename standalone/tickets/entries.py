"""Every way in: panels, ``/new``, the two context menus, a DM to the bot, and their forms."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction
from disnake.interactions.base import Interaction

from standalone.db.records import Category
from standalone.db.settings import MAX_CATEGORIES
from standalone.i18n import DEFAULT, Text, localised, t
from standalone.tickets import autocomplete, custom_ids, views
from standalone.tickets.channel_categories import guild_categories_locked, made_category
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_admin, is_any_staff, mention_ok
from standalone.tickets.errors import TicketError
from standalone.tickets.events import MessageEvent, decode
from standalone.tickets.opening import FormContext, Opening
from standalone.tickets.panels import send_panel
from standalone.tickets.references import allowed_ticket, parse_number, referable
from standalone.tickets.replies import NO_PINGS, answer_locale, defer, reply
from standalone.tickets.router import ComponentRouter, EventRouter

NO_CATEGORIES = Text("entries.no_categories")


class Entries:
    """Turns clicks, commands and DMs into ticket requests for ``Opening``."""

    def __init__(self, ctx: TicketContext, opening: Opening) -> None:
        self.ctx = ctx
        self.opening = opening

    def register(self, components: ComponentRouter, events: EventRouter) -> None:
        """Take the panel buttons and menus, the forms and DMs."""
        components.button(custom_ids.OPEN, self._open_button)
        components.button(custom_ids.CREATE_FOR, self._open_button)
        components.button(custom_ids.PICK, self._picked)
        components.modal(custom_ids.TOPIC, self._form)
        components.modal(custom_ids.QUESTIONS, self._form)
        events.on("MESSAGE_CREATE", self._direct_message)

    def cog(self) -> commands.Cog:
        """``/panel``, ``/new`` and the context menus."""
        return EntryCommands(self)

    # Components

    async def _open_button(self, inter: Interaction[Any], arguments: list[str]) -> None:
        category = await self.opening.category(inter, arguments[0])
        await self.opening.start(inter, category, FormContext())

    async def _picked(self, inter: Interaction[Any], arguments: list[str]) -> None:
        values: list[str] = list(getattr(getattr(inter, "data", None), "values", None) or [])
        if len(values) != 1:
            raise TicketError(Text("entries.pick_one"))
        category = await self.opening.category(inter, values[0])
        raw = arguments[0]
        if raw.startswith("f") and raw[1:].isdigit():
            await self.prompt_for_member(inter, category, int(raw[1:]))
            return
        context = FormContext() if raw.startswith("p") else FormContext.parse(raw)
        if context.kind == "d" and inter.guild_id is not None:
            raise custom_ids.BadCustomId(raw)
        await self.opening.start(inter, category, context)

    async def _form(self, inter: Interaction[Any], arguments: list[str]) -> None:
        # Forms shown before contexts existed carry the category key alone.
        context = FormContext.parse(arguments[1]) if len(arguments) > 1 else FormContext()
        category = await self.opening.category(inter, arguments[0])
        await self.opening.submitted(inter, category, context)

    # Panels

    async def post_panel(
        self,
        inter: ApplicationCommandInteraction[Any],
        *,
        staff_role: disnake.Role | None,
        discord_category: disnake.abc.GuildChannel | None,
        name: str,
        style: str,
        categories: str | None,
        title: str | None,
        description: str | None,
    ) -> None:
        """Post a panel for some or all categories; ``staff_role`` also sets one up quickly."""
        if inter.guild_id is None:
            raise TicketError(Text("entries.panel_server_only"))
        if not is_admin(inter):
            raise TicketError(Text("entries.panel_admin_only"))
        if discord_category is not None and not isinstance(
            discord_category, disnake.CategoryChannel
        ):
            raise TicketError(Text("entries.pick_channel_category"))
        guild = str(inter.guild_id)
        if staff_role is not None:
            name = name.strip()
            if not 1 <= len(name) <= 50:
                raise TicketError(Text("entries.name_length"))
            await defer(inter)
            chosen = [await self._quick_category(inter, staff_role, discord_category, name)]
        else:
            every = await self.ctx.settings.categories(guild)
            chosen = _named(every, categories) if categories else every
            if not chosen:
                raise TicketError(NO_CATEGORIES)
            await defer(inter)
        settings = await self.ctx.guild_settings(guild)
        await send_panel(
            self.ctx,
            inter.channel_id,
            chosen,
            settings,
            style=style,
            title=title,
            description=description,
            marker=f"p{inter.id}",
        )
        where = ", ".join(
            f"<#{c.thread_channel}>" if c.mode == "thread" else f"<#{c.discord_category}>"
            for c in chosen
        )
        await reply(inter, Text("entries.panel_posted", where=where))

    async def _quick_category(
        self,
        inter: ApplicationCommandInteraction[Any],
        staff_role: disnake.Role,
        discord_category: disnake.abc.GuildChannel | None,
        name: str,
    ) -> Category:
        repo = self.ctx.tickets
        # A redelivered /panel continues from what the first delivery recorded.
        category = await repo.category_by_interaction(str(inter.id))
        if category is None:
            guild = str(inter.guild_id)
            async with guild_categories_locked(self.ctx, guild, inter.id):
                every = await self.ctx.settings.categories(guild)
                same = next((c for c in every if c.name.lower() == name.lower()), None)
                if same is None and len(every) >= MAX_CATEGORIES:
                    raise TicketError(Text("entries.too_many_categories", max=MAX_CATEGORIES))
                category = await repo.save_category(
                    guild,
                    # The saved spelling: the save matches names exactly, and "support"
                    # next to "Support" would be a second category past the count.
                    same.name if same else name,
                    str(discord_category.id) if discord_category else None,
                    [str(staff_role.id)],
                    interaction_id=str(inter.id),
                )
        if category.discord_category is None:
            assert inter.guild_id is not None
            channel = await made_category(self.ctx, inter.guild_id, category, inter.id)
            category = await repo.set_category_channel(category, channel)
        return category

    # /new and the context menus

    async def new(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str | None,
        references: str | None,
    ) -> None:
        """``/new``: one category opens at once, several ask which."""
        if inter.guild_id is None:
            raise TicketError(Text("entries.server_only"))
        context = FormContext()
        if references:
            number = parse_number(references)
            if number is None:
                raise TicketError(Text("references.not_a_number", typed=references[:50]))
            earlier = await allowed_ticket(self.ctx, inter, number)
            context = FormContext("t", ticket=earlier.number)
        every = await self.ctx.settings.categories(str(inter.guild_id))
        if category:
            wanted = category.strip().lower()
            match = [c for c in every if c.key == category or c.name.lower() == wanted]
            if not match:
                raise TicketError(Text("entries.no_such_category", name=repr(category)))
            await self.opening.start(inter, match[0], context)
            return
        await self._choose(inter, every, context.encode())

    async def _choose(self, inter: Interaction[Any], every: list[Category], context: str) -> None:
        if not every:
            raise TicketError(NO_CATEGORIES)
        if len(every) == 1 and not context.startswith("f"):
            await self.opening.start(inter, every[0], FormContext.parse(context))
            return
        locale = await answer_locale(inter)
        menu = views.category_menu(every, context, locale=locale)
        await inter.response.send_message(
            t(locale, "entries.which_kind"), components=[menu], ephemeral=True
        )

    async def from_message(self, inter: ApplicationCommandInteraction[Any]) -> None:
        """ "Create ticket from message": a ticket that refers to the message."""
        if inter.guild_id is None:
            raise TicketError(Text("entries.server_only"))
        target = inter.data.target
        if not isinstance(target, disnake.Message):
            raise TicketError(Text("entries.pick_message"))
        await self.opening.offer_message(inter, target)
        context = FormContext("m", channel_id=target.channel.id, message_id=target.id)
        if not referable(target.type.value, target.content):
            context = FormContext()  # v4: system and text-less messages are not referred to
        await self._choose(
            inter, await self.ctx.settings.categories(str(inter.guild_id)), context.encode()
        )

    async def for_member(self, inter: ApplicationCommandInteraction[Any]) -> None:
        """ "Create ticket for user": staff posts a prompt with a button for that member."""
        if inter.guild_id is None:
            raise TicketError(Text("entries.server_only"))
        every = await self.ctx.settings.categories(str(inter.guild_id))
        if not is_any_staff(inter, every):
            raise TicketError(Text("entries.staff_asks"))
        target = inter.data.target
        if target is None or getattr(target, "bot", False):
            raise TicketError(Text("entries.pick_member"))
        if len(every) == 1:
            await self.prompt_for_member(inter, every[0], target.id)
            return
        await self._choose(inter, every, f"f{target.id}")

    async def prompt_for_member(
        self, inter: Interaction[Any], category: Category, member_id: int
    ) -> None:
        """Post "please open a ticket" with a button in this channel (anyone may press it)."""
        # Checked here too, not only by the command: the menu's custom id can be made up.
        if inter.guild_id is None or category.guild_id != str(inter.guild_id):
            raise TicketError(Text("entries.inside_server"))
        if not is_any_staff(inter, await self.ctx.settings.categories(category.guild_id)):
            raise TicketError(Text("entries.staff_asks"))
        locale = await self.ctx.guild_locale(category.guild_id)
        button: disnake.ui.Button[None] = disnake.ui.Button(
            label=t(locale, "entries.create_button"),
            emoji=category.emoji or "🎫",
            style=disnake.ButtonStyle.primary,
            custom_id=custom_ids.make(custom_ids.CREATE_FOR, category.key, f"i{inter.id}"),
        )
        await defer(inter)
        if await self.ctx.find_bot_message(inter.channel_id, button.custom_id or "") is None:
            try:
                await self.ctx.bot.get_partial_messageable(inter.channel_id).send(
                    t(
                        locale,
                        "entries.please_open",
                        user=f"<@{member_id}>",
                        category=category.name,
                    ),
                    components=[button],
                    allowed_mentions=mention_ok([member_id]),
                )
            except disnake.Forbidden:
                await inter.followup.send(
                    t(
                        await answer_locale(inter, locale),
                        "entries.cannot_post",
                        user=f"<@{member_id}>",
                    ),
                    components=[button],
                    ephemeral=True,
                    allowed_mentions=NO_PINGS,
                )
                return
        await reply(inter, Text("entries.asked", user=f"<@{member_id}>", category=category.name))

    # A DM to the bot

    async def _direct_message(self, data: bytes) -> None:
        event = decode("MESSAGE_CREATE", data, MessageEvent)
        if event.guild_id is not None or event.author.bot or not event.content.strip():
            return
        context = FormContext("d", channel_id=int(event.channel_id), message_id=int(event.id))
        menu_id = custom_ids.make(custom_ids.PICK, context.encode())
        if await self.ctx.find_bot_message(int(event.channel_id), menu_id) is not None:
            return
        choices = await self._categories_shared_with(int(event.author.id))
        channel = self.ctx.bot.get_partial_messageable(int(event.channel_id))
        if not choices:
            # No guild in common, so no guild's language: the default one.
            await channel.send(t(DEFAULT, "entries.no_shared_server"), allowed_mentions=NO_PINGS)
            return
        locale = await self.ctx.guild_locale(choices[0].guild_id)
        embed = disnake.Embed(
            title=t(locale, "entries.dm_title"),
            description=event.content[:1000],
            colour=views.PRIMARY,
        )
        servers = await self._server_names({c.guild_id for c in choices})
        menu = views.category_menu(
            choices,
            context.encode(),
            placeholder=t(locale, "entries.dm_placeholder"),
            servers=servers,
            locale=locale,
        )
        await channel.send(embed=embed, components=[menu], allowed_mentions=NO_PINGS)

    async def _server_names(self, guild_ids: set[str]) -> dict[str, str] | None:
        """Names of the servers a DM menu offers, when it offers more than one."""
        if len(guild_ids) < 2:
            return None
        names: dict[str, str] = {}
        for guild_id in guild_ids:
            guild = await self.ctx.bot.http.get_guild(int(guild_id), with_counts=False)
            names[guild_id] = str(guild.get("name") or guild_id)
        return names

    async def _categories_shared_with(self, user_id: int) -> list[Category]:
        found: list[Category] = []
        for guild_id in await self.ctx.settings.guilds_with_categories():
            try:
                await self.ctx.bot.http.get_member(int(guild_id), user_id)
            except (disnake.NotFound, disnake.Forbidden):
                continue
            found += await self.ctx.settings.categories(guild_id)
        return found[:25]

    # Autocomplete

    async def category_choices(self, inter: Interaction[Any], text: str) -> dict[str, str]:
        """The guild's categories whose name contains ``text`` (plain text, not a pattern)."""
        if inter.guild_id is None:
            return {}
        needle = text.lower().strip()
        every = await self.ctx.settings.categories(str(inter.guild_id))
        return {c.name[:100]: c.key for c in every if needle in c.name.lower()}


def _named(every: list[Category], names: str) -> list[Category]:
    wanted = [n.strip().lower() for n in names.split(",") if n.strip()]
    by_name = {c.name.lower(): c for c in every}
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise TicketError(Text("entries.unknown_names", names=", ".join(unknown)))
    return [by_name[n] for n in wanted]


class EntryCommands(FeatureCog):
    """``/panel``, ``/new``, "Create ticket from message" and "Create ticket for user"."""

    def __init__(self, entries: Entries) -> None:
        self.entries = entries

    @commands.slash_command(
        name=localised("cmd_core.panel.name"),
        description=localised("cmd_core.panel.description"),
        contexts=disnake.InteractionContextTypes(guild=True),
        default_member_permissions=disnake.Permissions(manage_guild=True),
    )
    async def panel(
        self,
        inter: ApplicationCommandInteraction[Any],
        staff_role: disnake.Role | None = commands.Param(
            default=None,
            name=localised("cmd_core.panel.staff_role.name"),
            description=localised("cmd_core.panel.staff_role.description"),
        ),
        category: disnake.CategoryChannel | None = commands.Param(
            default=None,
            name=localised("cmd_core.panel.category.name"),
            description=localised("cmd_core.panel.category.description"),
        ),
        name: str = commands.Param(
            default="Support",
            max_length=50,
            name=localised("cmd_core.panel.name_option.name"),
            description=localised("cmd_core.panel.name_option.description"),
        ),
        style: str = commands.Param(
            default="buttons",
            choices=[
                disnake.OptionChoice(localised("cmd_core.panel.style.buttons"), "buttons"),
                disnake.OptionChoice(localised("cmd_core.panel.style.menu"), "menu"),
            ],
            name=localised("cmd_core.panel.style.name"),
            description=localised("cmd_core.panel.style.description"),
        ),
        categories: str | None = commands.Param(
            default=None,
            max_length=500,
            name=localised("cmd_core.panel.categories.name"),
            description=localised("cmd_core.panel.categories.description"),
        ),
        title: str | None = commands.Param(
            default=None,
            max_length=256,
            name=localised("cmd_core.panel.title.name"),
            description=localised("cmd_core.panel.title.description"),
        ),
        description: str | None = commands.Param(
            default=None,
            max_length=2000,
            name=localised("cmd_core.panel.description_option.name"),
            description=localised("cmd_core.panel.description_option.description"),
        ),
    ) -> None:
        await self.entries.post_panel(
            inter,
            staff_role=staff_role,
            discord_category=category,
            name=name,
            style=style,
            categories=categories,
            title=title,
            description=description,
        )

    @commands.slash_command(
        name=localised("cmd_core.new.name"),
        description=localised("cmd_core.new.description"),
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def new(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str | None = commands.Param(
            default=None,
            name=localised("cmd_core.new.category.name"),
            description=localised("cmd_core.new.category.description"),
        ),
        references: str | None = commands.Param(
            default=None,
            name=localised("cmd_core.new.references.name"),
            description=localised("cmd_core.new.references.description"),
        ),
    ) -> None:
        await self.entries.new(inter, category, references)

    @new.autocomplete("category")
    async def _new_category(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> dict[str, str]:
        return await self.entries.category_choices(inter, text)

    @new.autocomplete("references")
    async def _new_references(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> list[disnake.OptionChoice]:
        # The caller's closed tickets, by number, category or topic (typed text is plain text).
        return await autocomplete.tickets(self.entries.ctx, inter, text, states=("closed",))

    @commands.message_command(
        name=localised("cmd_core.from_message.label"),
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def from_message(self, inter: ApplicationCommandInteraction[Any]) -> None:
        await self.entries.from_message(inter)

    @commands.user_command(
        name=localised("cmd_core.for_member.label"),
        contexts=disnake.InteractionContextTypes(guild=True),
    )
    async def for_member(self, inter: ApplicationCommandInteraction[Any]) -> None:
        await self.entries.for_member(inter)
