"""``/category``, ``/question`` and ``/settings``: admins configure tickets from Discord."""

from __future__ import annotations

import re
from typing import Any

import disnake
import msgspec
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone import keys
from standalone.db.records import Category, GuildSettings
from standalone.db.settings import SettingsError
from standalone.i18n import SUPPORTED, Text, choices, localised, normalise, option, supported
from standalone.tickets import audit, locks
from standalone.tickets.channel_categories import guild_categories_locked, made_category
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_admin
from standalone.tickets.durations import BadDuration, format_ms, parse_ms
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import answer_locale, reply

_ROLE = re.compile(r"<@&(\d{1,20})>|(\d{5,20})")
ADMIN_ONLY = disnake.Permissions(manage_guild=True)
GUILD_ONLY = disnake.InteractionContextTypes(guild=True)
QUESTION_LOCK_MS = 10_000


async def _audit(
    ctx: TicketContext,
    inter: ApplicationCommandInteraction[Any],
    guild: str,
    before: Category | None,
    after: Category | None,
) -> None:
    """Log a category made, changed or removed by a command."""
    named = after or before
    assert named is not None
    await audit.settings_changed(
        ctx,
        guild,
        str(inter.author.id),
        msgspec.structs.asdict(before) if before else {},
        msgspec.structs.asdict(after) if after else {},
        str(inter.id),
        what=named.name,
    )


def parse_roles(text: str, known: set[int]) -> list[str]:
    """Role mentions or ids, or ``none``; refuses roles the server does not have."""
    if text.strip().lower() in {"none", "-", ""}:
        return []
    ids = [int(a or b) for a, b in _ROLE.findall(text)]
    leftover = _ROLE.sub("", text).replace(",", " ").strip()
    if leftover or not ids:
        raise TicketError(Text("settings.bad_roles", text=repr(text)))
    unknown = [str(r) for r in ids if r not in known]
    if unknown:
        raise TicketError(Text("settings.unknown_roles", roles=", ".join(unknown)))
    return [str(r) for r in dict.fromkeys(ids)]


def _duration(name: str, text: str) -> int | None:
    try:
        return parse_ms(text)
    except BadDuration:
        raise TicketError(Text("settings.bad_duration", name=name, text=repr(text))) from None


ON, OFF, NONE = Text("settings.on"), Text("settings.off"), Text("settings.none")
SERVER_DEFAULT = Text("settings.server_default")


def _switch(value: bool) -> Text:
    return ON if value else OFF


def _roles_text(ids: list[str]) -> str | Text:
    return " ".join(f"<@&{r}>" for r in ids) or NONE


def _ms_text(ms: int | None) -> str | Text:
    return OFF if ms is None else format_ms(ms)


def describe(category: Category) -> Text:
    """A category's settings in a few lines, for the admin who just changed them."""

    def timing(ms: int | None) -> str | Text:
        return SERVER_DEFAULT if ms is None else _ms_text(ms or None)

    where = (
        Text("settings.where_threads", channel=f"<#{category.thread_channel}>")
        if category.mode == "thread"
        else Text("settings.where_channels", channel=f"<#{category.discord_category}>")
        if category.discord_category
        else Text("settings.where_nowhere")
    )
    return Text(
        "settings.describe_category",
        name=category.name,
        where=where,
        staff=_roles_text(category.staff_roles),
        pings=_roles_text(category.ping_roles),
        required=_roles_text(category.required_roles),
        blocked=_roles_text(category.blocked_roles),
        member_limit=category.member_limit,
        total_limit=category.total_limit,
        cooldown=_ms_text(category.cooldown_ms),
        slowmode=category.slowmode_s or 0,
        claiming=_switch(category.claiming),
        feedback=_switch(category.feedback),
        topic=Text("settings.required" if category.require_topic else "settings.optional"),
        stale_after=timing(category.stale_after_ms),
        auto_close=timing(category.auto_close_ms),
        archive=SERVER_DEFAULT if category.archive is None else _switch(category.archive),
    )


def describe_guild(settings: GuildSettings) -> Text:
    """The server-wide settings in a few lines."""
    return Text(
        "settings.describe_guild",
        log=f"<#{settings.log_channel}>" if settings.log_channel else NONE,
        archive=_switch(settings.archive),
        claim_button=_switch(settings.claim_button),
        close_button=_switch(settings.close_button),
        blocked=_roles_text(settings.blocked_roles),
        stale_after=_ms_text(settings.stale_after_ms),
        auto_close=_ms_text(settings.auto_close_ms),
        colour=f"#{settings.colour:06x}",
        # The language's own name, as the /settings choice shows it.
        locale=Text(f"cmd_core.settings.locale.{normalise(settings.locale)}"),
    )


class SettingsCommands(FeatureCog):
    """Admin commands that edit guild settings, categories and questions."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    async def _admin_guild(self, inter: ApplicationCommandInteraction[Any]) -> str:
        if inter.guild_id is None:
            raise TicketError(Text("settings.server_only"))
        if not is_admin(inter):
            raise TicketError(Text("settings.admin_only"))
        return str(inter.guild_id)

    async def _roles(self, guild_id: str) -> set[int]:
        return {int(r["id"]) for r in await self.ctx.bot.http.get_roles(int(guild_id))}

    async def _category(self, guild_id: str, key_or_name: str) -> Category:
        every = await self.ctx.settings.categories(guild_id)
        wanted = key_or_name.strip().lower()
        for category in every:
            if category.key == key_or_name or category.name.lower() == wanted:
                return category
        raise TicketError(Text("entries.no_such_category", name=repr(key_or_name)))

    async def _autocomplete(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> dict[str, str]:
        if inter.guild_id is None:
            return {}
        needle = text.lower()
        every = await self.ctx.settings.categories(str(inter.guild_id))
        return {c.name: c.key for c in every if needle in c.name.lower()}

    # /category

    @commands.slash_command(
        name=localised("cmd_core.category.name"),
        description=localised("cmd_core.category.description"),
        contexts=GUILD_ONLY,
        default_member_permissions=ADMIN_ONLY,
    )
    async def category(self, inter: ApplicationCommandInteraction[Any]) -> None:
        """Ticket categories (kinds of ticket)."""

    @category.sub_command(
        name=localised("cmd_core.category.create.name"),
        description=localised("cmd_core.category.create.description"),
    )
    async def category_create(
        self,
        inter: ApplicationCommandInteraction[Any],
        name: str = option("cmd_core.category.create.name", max_length=50),
        staff_roles: str = option("cmd_core.category.create.staff_roles"),
        discord_category: disnake.CategoryChannel | None = option(
            "cmd_core.category.create.discord_category", default=None
        ),
        mode: str = option(
            "cmd_core.category.create.mode",
            default="channel",
            choices=choices("cmd_core.category.create.mode", ["channel", "thread"]),
        ),
        thread_channel: disnake.TextChannel | None = option(
            "cmd_core.category.create.thread_channel", default=None
        ),
    ) -> None:
        guild = await self._admin_guild(inter)
        roles = parse_roles(staff_roles, await self._roles(guild))
        if mode == "thread" and thread_channel is None:
            raise TicketError(Text("settings.thread_needs_channel"))
        fields: dict[str, Any] = {"staff_roles": roles, "mode": mode}
        if discord_category is not None:
            fields["discord_category"] = str(discord_category.id)
        if thread_channel is not None:
            fields["thread_channel"] = str(thread_channel.id)
        # A redelivered command finishes the category its first delivery added
        # instead of refusing the name as taken.
        made = await self.ctx.tickets.category_by_interaction(str(inter.id))
        if made is None:
            try:
                # The count of a server's categories and the new row are two statements.
                async with guild_categories_locked(self.ctx, guild, inter.id):
                    made = await self.ctx.settings.create_category(
                        guild, name.strip(), interaction_id=str(inter.id), **fields
                    )
            except SettingsError as exc:
                raise TicketError(Text("settings.cannot_add", detail=str(exc))) from None
        if made.mode == "channel" and made.discord_category is None:
            channel = await made_category(self.ctx, int(guild), made, inter.id)
            made = await self.ctx.settings.update_category(
                guild, made.key, discord_category=channel
            )
        await _audit(self.ctx, inter, guild, None, made)
        await reply(inter, Text("settings.category_added", details=describe(made)))

    @category.sub_command(
        name=localised("cmd_core.category.edit.name"),
        description=localised("cmd_core.category.edit.description"),
    )
    async def category_edit(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = option("cmd_core.category.edit.category"),
        name: str | None = option("cmd_core.category.edit.name", default=None, max_length=50),
        staff_roles: str | None = option("cmd_core.category.edit.staff_roles", default=None),
        ping_roles: str | None = option("cmd_core.category.edit.ping_roles", default=None),
        required_roles: str | None = option("cmd_core.category.edit.required_roles", default=None),
        blocked_roles: str | None = option("cmd_core.category.edit.blocked_roles", default=None),
        discord_category: disnake.CategoryChannel | None = option(
            "cmd_core.category.edit.discord_category", default=None
        ),
        mode: str | None = option(
            "cmd_core.category.edit.mode",
            default=None,
            choices=choices("cmd_core.category.edit.mode", ["channel", "thread"]),
        ),
        thread_channel: disnake.TextChannel | None = option(
            "cmd_core.category.edit.thread_channel", default=None
        ),
        channel_name: str | None = option(
            "cmd_core.category.edit.channel_name", default=None, max_length=100
        ),
        opening_message: str | None = option(
            "cmd_core.category.edit.opening_message", default=None, max_length=4000
        ),
        claiming: bool | None = option("cmd_core.category.edit.claiming", default=None),
        feedback: bool | None = option("cmd_core.category.edit.feedback", default=None),
        member_limit: int | None = option(
            "cmd_core.category.edit.member_limit", default=None, ge=1, le=50
        ),
        total_limit: int | None = option(
            "cmd_core.category.edit.total_limit", default=None, ge=1, le=1000
        ),
        cooldown: str | None = option("cmd_core.category.edit.cooldown", default=None),
        slowmode: int | None = option(
            "cmd_core.category.edit.slowmode", default=None, ge=0, le=21600
        ),
        require_topic: bool | None = option("cmd_core.category.edit.require_topic", default=None),
        auto_close: str | None = option("cmd_core.category.edit.auto_close", default=None),
        stale_after: str | None = option("cmd_core.category.edit.stale_after", default=None),
        archive: str | None = option(
            "cmd_core.category.edit.archive",
            default=None,
            choices=choices("cmd_core.category.edit.archive", ["on", "off", "default"]),
        ),
    ) -> None:
        guild = await self._admin_guild(inter)
        current = await self._category(guild, category)
        changes: dict[str, Any] = {}
        known: set[int] | None = None
        for field, value in (
            ("staff_roles", staff_roles),
            ("ping_roles", ping_roles),
            ("required_roles", required_roles),
            ("blocked_roles", blocked_roles),
        ):
            if value is not None:
                known = known if known is not None else await self._roles(guild)
                changes[field] = parse_roles(value, known)
        plain = {
            "name": name.strip() if name else None,
            "mode": mode,
            "channel_name": channel_name,
            "opening_message": opening_message,
            "claiming": claiming,
            "feedback": feedback,
            "member_limit": member_limit,
            "total_limit": total_limit,
            "slowmode_s": slowmode,
            "require_topic": require_topic,
        }
        changes.update({k: v for k, v in plain.items() if v is not None})
        if discord_category is not None:
            changes["discord_category"] = str(discord_category.id)
        if thread_channel is not None:
            changes["thread_channel"] = str(thread_channel.id)
        if cooldown is not None:
            changes["cooldown_ms"] = _duration("cooldown", cooldown)
        for field, value in (("auto_close_ms", auto_close), ("stale_after_ms", stale_after)):
            if value is not None:
                # "default" follows the server's setting; "off" is stored as 0.
                changes[field] = (
                    None if value.strip().lower() == "default" else _duration(field, value) or 0
                )
        if archive is not None:
            changes["archive"] = None if archive == "default" else archive == "on"
        if not changes:
            await reply(inter, describe(current))
            return
        merged_mode = changes.get("mode", current.mode)
        if merged_mode == "thread" and not changes.get("thread_channel", current.thread_channel):
            raise TicketError(Text("settings.thread_needs_channel"))
        try:
            updated = await self.ctx.settings.update_category(guild, current.key, **changes)
        except SettingsError as exc:
            raise TicketError(Text("settings.not_saved", detail=str(exc))) from None
        await _audit(self.ctx, inter, guild, current, updated)
        await reply(inter, Text("settings.saved", details=describe(updated)))

    @category.sub_command(
        name=localised("cmd_core.category.appearance.name"),
        description=localised("cmd_core.category.appearance.description"),
    )
    async def category_appearance(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = option("cmd_core.category.appearance.category"),
        description: str | None = option(
            "cmd_core.category.appearance.description", default=None, max_length=100
        ),
        emoji: str | None = option(
            "cmd_core.category.appearance.emoji", default=None, max_length=64
        ),
        image: str | None = option(
            "cmd_core.category.appearance.image", default=None, max_length=500
        ),
    ) -> None:
        guild = await self._admin_guild(inter)
        current = await self._category(guild, category)
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description.strip() or None
        if emoji is not None:
            changes["emoji"] = emoji.strip() or None
        if image is not None:
            url = image.strip()
            if url and not re.fullmatch(r"https?://\S+", url):
                raise TicketError(Text("settings.bad_image"))
            changes["image"] = url or None
        updated = (
            await self.ctx.settings.update_category(guild, current.key, **changes)
            if changes
            else current
        )
        await _audit(self.ctx, inter, guild, current, updated)
        await reply(
            inter,
            Text(
                "settings.appearance",
                emoji=updated.emoji or "🎫",
                name=updated.name,
                description=updated.description or Text("settings.no_description"),
                image=updated.image or NONE,
            ),
        )

    @category.sub_command(
        name=localised("cmd_core.category.delete.name"),
        description=localised("cmd_core.category.delete.description"),
    )
    async def category_delete(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = option("cmd_core.category.delete.category"),
    ) -> None:
        guild = await self._admin_guild(inter)
        current = await self._category(guild, category)
        await self.ctx.settings.delete_category(guild, current.key)
        await _audit(self.ctx, inter, guild, current, None)
        await reply(inter, Text("settings.deleted", name=current.name))

    @category.sub_command(
        name=localised("cmd_core.category.list.name"),
        description=localised("cmd_core.category.list.description"),
    )
    async def category_list(self, inter: ApplicationCommandInteraction[Any]) -> None:
        guild = await self._admin_guild(inter)
        every = await self.ctx.settings.categories(guild)
        locale = await answer_locale(inter)
        listed = "\n\n".join(describe(c).render(locale) for c in every)[:1900]
        await reply(inter, listed or Text("settings.no_categories"))

    @category_edit.autocomplete("category")
    async def _edit_category(self, inter: ApplicationCommandInteraction[Any], text: str) -> Any:
        return await self._autocomplete(inter, text)

    @category_appearance.autocomplete("category")
    async def _appearance_category(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> Any:
        return await self._autocomplete(inter, text)

    @category_delete.autocomplete("category")
    async def _delete_category(self, inter: ApplicationCommandInteraction[Any], text: str) -> Any:
        return await self._autocomplete(inter, text)

    # /question

    @commands.slash_command(
        name=localised("cmd_core.question.name"),
        description=localised("cmd_core.question.description"),
        contexts=GUILD_ONLY,
        default_member_permissions=ADMIN_ONLY,
    )
    async def question(self, inter: ApplicationCommandInteraction[Any]) -> None:
        """Questions members answer when they open a ticket."""

    @question.sub_command(
        name=localised("cmd_core.question.add.name"),
        description=localised("cmd_core.question.add.description"),
    )
    async def question_add(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = option("cmd_core.question.add.category"),
        label: str = option("cmd_core.question.add.label", max_length=45),
        kind: str = option(
            "cmd_core.question.add.kind",
            default="text",
            choices=choices("cmd_core.question.add.kind", ["text", "menu"]),
        ),
        options: str | None = option(
            "cmd_core.question.add.options", default=None, max_length=1000
        ),
        long: bool = option("cmd_core.question.add.long", default=False),
        required: bool = option("cmd_core.question.add.required", default=True),
        min_length: int = option("cmd_core.question.add.min_length", default=0, ge=0, le=4000),
        max_length: int = option("cmd_core.question.add.max_length", default=1000, ge=1, le=4000),
        placeholder: str | None = option(
            "cmd_core.question.add.placeholder", default=None, max_length=100
        ),
        use_as_topic: bool = option("cmd_core.question.add.use_as_topic", default=False),
    ) -> None:
        guild = await self._admin_guild(inter)
        current = await self._category(guild, category)
        choices = [o.strip() for o in (options or "").split(",") if o.strip()]
        if kind == "menu" and not choices:
            raise TicketError(Text("settings.menu_needs_options"))
        fields: dict[str, Any] = {
            "kind": "select" if kind == "menu" else "text",
            "options": choices,
            "style": 2 if long else 1,
            "required": required,
            "min_length": min_length,
            "max_length": max_length,
            "placeholder": placeholder,
        }
        # Counting the questions and adding one are two statements, and the database
        # lets two adds at once both count four: the form would get six fields, which
        # Discord refuses for every member. So one change per category at a time.
        lock = keys.question_lock(self.ctx.tenant, guild, current.key)
        try:
            async with locks.held(
                self.ctx.cache, lock, str(inter.id), ttl_ms=QUESTION_LOCK_MS, wait_s=5.0
            ):
                existing = await self.ctx.settings.questions(current.key)
                wanted = label.strip().lower()
                same = next((q for q in existing if q.label.lower() == wanted), None)
                if same is not None:
                    fields["key"] = same.key
                saved = await self.ctx.settings.save_question(current.key, label.strip(), **fields)
            if use_as_topic:
                await self.ctx.settings.update_category(guild, current.key, custom_topic=saved.key)
        except SettingsError as exc:
            raise TicketError(Text("settings.not_saved", detail=str(exc))) from None
        except locks.Busy:
            raise TicketError(Text("settings.questions_busy", name=current.name)) from None
        listed = await self.ctx.settings.questions(current.key)
        lines = [f"{n + 1}. {q.label} ({q.kind})" for n, q in enumerate(listed)]
        await reply(inter, Text("settings.questions", name=current.name, lines="\n".join(lines)))

    @question.sub_command(
        name=localised("cmd_core.question.remove.name"),
        description=localised("cmd_core.question.remove.description"),
    )
    async def question_remove(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = option("cmd_core.question.remove.category"),
        label: str = option("cmd_core.question.remove.label"),
    ) -> None:
        guild = await self._admin_guild(inter)
        current = await self._category(guild, category)
        existing = await self.ctx.settings.questions(current.key)
        same = next((q for q in existing if q.label.lower() == label.strip().lower()), None)
        if same is None:
            raise TicketError(Text("settings.no_question", name=current.name, label=repr(label)))
        await self.ctx.settings.remove_question(current.key, same.key)
        if current.custom_topic == same.key:
            await self.ctx.settings.update_category(guild, current.key, custom_topic=None)
        await reply(
            inter, Text("settings.question_removed", label=repr(same.label), name=current.name)
        )

    @question_add.autocomplete("category")
    async def _add_category(self, inter: ApplicationCommandInteraction[Any], text: str) -> Any:
        return await self._autocomplete(inter, text)

    @question_remove.autocomplete("category")
    async def _remove_category(self, inter: ApplicationCommandInteraction[Any], text: str) -> Any:
        return await self._autocomplete(inter, text)

    # /settings

    @commands.slash_command(
        name=localised("cmd_core.settings.name"),
        description=localised("cmd_core.settings.description"),
        contexts=GUILD_ONLY,
        default_member_permissions=ADMIN_ONLY,
    )
    async def settings(
        self,
        inter: ApplicationCommandInteraction[Any],
        log_channel: disnake.TextChannel | None = option(
            "cmd_core.settings.log_channel", default=None
        ),
        archive: bool | None = option("cmd_core.settings.archive", default=None),
        claim_button: bool | None = option("cmd_core.settings.claim_button", default=None),
        close_button: bool | None = option("cmd_core.settings.close_button", default=None),
        blocked_roles: str | None = option("cmd_core.settings.blocked_roles", default=None),
        auto_close: str | None = option("cmd_core.settings.auto_close", default=None),
        stale_after: str | None = option("cmd_core.settings.stale_after", default=None),
        footer: str | None = option("cmd_core.settings.footer", default=None, max_length=200),
        colour: str | None = option("cmd_core.settings.colour", default=None),
        locale: str | None = option(
            "cmd_core.settings.locale",
            default=None,
            max_length=10,
            choices=choices("cmd_core.settings.locale", list(SUPPORTED)),
        ),
    ) -> None:
        guild = await self._admin_guild(inter)
        changes: dict[str, Any] = {}
        if log_channel is not None:
            changes["log_channel"] = str(log_channel.id)
        for field, value in (
            ("archive", archive),
            ("claim_button", claim_button),
            ("close_button", close_button),
        ):
            if value is not None:
                changes[field] = value
        if blocked_roles is not None:
            changes["blocked_roles"] = parse_roles(blocked_roles, await self._roles(guild))
        if auto_close is not None:
            changes["auto_close_ms"] = _duration("auto_close", auto_close)
        if stale_after is not None:
            changes["stale_after_ms"] = _duration("stale_after", stale_after)
        if footer is not None:
            changes["footer"] = footer.strip() or None
        if colour is not None:
            raw = colour.strip().lstrip("#")
            if not re.fullmatch(r"[0-9a-fA-F]{6}", raw):
                raise TicketError(Text("settings.bad_colour", text=repr(colour)))
            changes["colour"] = int(raw, 16)
        before = await self.ctx.settings.guild(guild)
        if locale is not None:
            # Discord enforces the choices, but a stale client or a hand-made call may not.
            chosen = supported(locale)
            if chosen is None or chosen.lower() != locale.strip().lower():
                raise TicketError(
                    Text("settings.bad_locale", text=repr(locale), known=", ".join(SUPPORTED))
                )
            changes["locale"] = chosen
        try:
            current = (
                await self.ctx.settings.update_guild(guild, **changes)
                if changes
                else await self.ctx.settings.guild(guild)
            )
        except SettingsError as exc:
            raise TicketError(Text("settings.not_saved", detail=str(exc))) from None
        await audit.settings_changed(
            self.ctx,
            guild,
            str(inter.author.id),
            msgspec.structs.asdict(before),
            msgspec.structs.asdict(current),
            str(inter.id),
        )
        details = describe_guild(current)
        await reply(inter, Text("settings.saved", details=details) if changes else details)
