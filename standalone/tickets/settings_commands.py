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
from standalone.tickets import audit, locks
from standalone.tickets.channel_categories import guild_categories_locked, made_category
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_admin
from standalone.tickets.durations import BadDuration, format_ms, parse_ms
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import reply

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
        raise TicketError(f"{text!r}: list roles as mentions (@Staff @Helpers) or ids, or none.")
    unknown = [str(r) for r in ids if r not in known]
    if unknown:
        raise TicketError(f"This server has no role {', '.join(unknown)}.")
    return [str(r) for r in dict.fromkeys(ids)]


def _duration(name: str, text: str) -> int | None:
    try:
        return parse_ms(text)
    except BadDuration as exc:
        raise TicketError(f"{name}: {exc}") from None


def describe(category: Category) -> str:
    """A category's settings in a few lines, for the admin who just changed them."""

    def roles(ids: list[str]) -> str:
        return " ".join(f"<@&{r}>" for r in ids) or "none"

    def timing(ms: int | None) -> str:
        return "server default" if ms is None else format_ms(ms or None)

    where = (
        f"private threads in <#{category.thread_channel}>"
        if category.mode == "thread"
        else f"channels under <#{category.discord_category}>"
        if category.discord_category
        else "channels (no Discord category set yet)"
    )
    return "\n".join(
        [
            f"**{category.name}** ({where})",
            f"staff {roles(category.staff_roles)} · pings {roles(category.ping_roles)}",
            f"required {roles(category.required_roles)} · blocked {roles(category.blocked_roles)}",
            f"limits {category.member_limit} per member, {category.total_limit} in all · "
            f"cooldown {format_ms(category.cooldown_ms)} · slowmode {category.slowmode_s or 0}s",
            f"claiming {'on' if category.claiming else 'off'} · feedback "
            f"{'on' if category.feedback else 'off'} · topic "
            f"{'required' if category.require_topic else 'optional'}",
            f"stale after {timing(category.stale_after_ms)}"
            f" · auto-close {timing(category.auto_close_ms)}"
            f" · archive {'server default' if category.archive is None else category.archive}",
        ]
    )


def describe_guild(settings: GuildSettings) -> str:
    """The server-wide settings in a few lines."""
    blocked = " ".join(f"<@&{r}>" for r in settings.blocked_roles) or "none"
    log = f"<#{settings.log_channel}>" if settings.log_channel else "none"
    return "\n".join(
        [
            f"log channel {log} · archive {'on' if settings.archive else 'off'}",
            f"claim button {'on' if settings.claim_button else 'off'} · close button "
            f"{'on' if settings.close_button else 'off'} · blocked {blocked}",
            f"stale after {format_ms(settings.stale_after_ms)} · auto-close "
            f"{format_ms(settings.auto_close_ms)} · colour #{settings.colour:06x}",
        ]
    )


class SettingsCommands(FeatureCog):
    """Admin commands that edit guild settings, categories and questions."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    async def _admin_guild(self, inter: ApplicationCommandInteraction[Any]) -> str:
        if inter.guild_id is None:
            raise TicketError("Settings belong to a server; use this command in one.")
        if not is_admin(inter):
            raise TicketError("You need the Manage Server permission to change ticket settings.")
        return str(inter.guild_id)

    async def _roles(self, guild_id: str) -> set[int]:
        return {int(r["id"]) for r in await self.ctx.bot.http.get_roles(int(guild_id))}

    async def _category(self, guild_id: str, key_or_name: str) -> Category:
        every = await self.ctx.settings.categories(guild_id)
        wanted = key_or_name.strip().lower()
        for category in every:
            if category.key == key_or_name or category.name.lower() == wanted:
                return category
        raise TicketError(f"There is no ticket category called {key_or_name!r}.")

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
        name="category", contexts=GUILD_ONLY, default_member_permissions=ADMIN_ONLY
    )
    async def category(self, inter: ApplicationCommandInteraction[Any]) -> None:
        """Ticket categories (kinds of ticket)."""

    @category.sub_command(name="create", description="Add a kind of ticket.")
    async def category_create(
        self,
        inter: ApplicationCommandInteraction[Any],
        name: str = commands.Param(max_length=50, description="Name members see"),
        staff_roles: str = commands.Param(description="Roles that handle it (mentions)"),
        discord_category: disnake.CategoryChannel | None = commands.Param(
            default=None, description="Channel category for ticket channels"
        ),
        mode: str = commands.Param(
            default="channel", choices=["channel", "thread"], description="Channels or threads"
        ),
        thread_channel: disnake.TextChannel | None = commands.Param(
            default=None, description="For thread mode: the channel that holds the threads"
        ),
    ) -> None:
        guild = await self._admin_guild(inter)
        roles = parse_roles(staff_roles, await self._roles(guild))
        if mode == "thread" and thread_channel is None:
            raise TicketError("Thread mode needs a thread_channel to hold the private threads.")
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
                raise TicketError(f"Cannot add the category: {exc}.") from None
        if made.mode == "channel" and made.discord_category is None:
            channel = await made_category(self.ctx, int(guild), made, inter.id)
            made = await self.ctx.settings.update_category(
                guild, made.key, discord_category=channel
            )
        await _audit(self.ctx, inter, guild, None, made)
        await reply(inter, "Category added.\n" + describe(made))

    @category.sub_command(name="edit", description="Change a kind of ticket.")
    async def category_edit(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = commands.Param(description="Which category"),
        name: str | None = commands.Param(default=None, max_length=50, description="New name"),
        staff_roles: str | None = commands.Param(default=None, description="Staff roles"),
        ping_roles: str | None = commands.Param(default=None, description="Roles pinged on open"),
        required_roles: str | None = commands.Param(
            default=None, description="Roles a member needs (all)"
        ),
        blocked_roles: str | None = commands.Param(
            default=None, description="Roles that may not open these"
        ),
        discord_category: disnake.CategoryChannel | None = commands.Param(
            default=None, description="Channel category for ticket channels"
        ),
        mode: str | None = commands.Param(
            default=None, choices=["channel", "thread"], description="Channels or threads"
        ),
        thread_channel: disnake.TextChannel | None = commands.Param(
            default=None, description="Channel that holds thread tickets"
        ),
        channel_name: str | None = commands.Param(
            default=None, max_length=100, description="Name template, e.g. ticket-{num}"
        ),
        opening_message: str | None = commands.Param(
            default=None, max_length=4000, description="Greeting; {username} {num} work"
        ),
        claiming: bool | None = commands.Param(default=None, description="Allow claiming"),
        feedback: bool | None = commands.Param(default=None, description="Ask for feedback"),
        member_limit: int | None = commands.Param(
            default=None, ge=1, le=50, description="Open tickets per member"
        ),
        total_limit: int | None = commands.Param(
            default=None, ge=1, le=1000, description="Open tickets in all"
        ),
        cooldown: str | None = commands.Param(default=None, description="e.g. 10m, or off"),
        slowmode: int | None = commands.Param(
            default=None, ge=0, le=21600, description="Seconds between messages"
        ),
        require_topic: bool | None = commands.Param(
            default=None, description="Ask for a topic when there are no questions"
        ),
        auto_close: str | None = commands.Param(
            default=None, description="Close this long after a warning, e.g. 12h; default"
        ),
        stale_after: str | None = commands.Param(
            default=None, description="Warn after this long idle, e.g. 2d; off; default"
        ),
        archive: str | None = commands.Param(
            default=None, choices=["on", "off", "default"], description="Keep messages"
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
            raise TicketError("Thread mode needs a thread_channel to hold the private threads.")
        try:
            updated = await self.ctx.settings.update_category(guild, current.key, **changes)
        except SettingsError as exc:
            raise TicketError(f"Not saved: {exc}.") from None
        await _audit(self.ctx, inter, guild, current, updated)
        await reply(inter, "Saved.\n" + describe(updated))

    @category.sub_command(name="appearance", description="How a kind of ticket looks.")
    async def category_appearance(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = commands.Param(description="Which category"),
        description: str | None = commands.Param(
            default=None, max_length=100, description="Shown under its name in menus"
        ),
        emoji: str | None = commands.Param(
            default=None, max_length=64, description="Emoji on its button and menu entry"
        ),
        image: str | None = commands.Param(
            default=None, max_length=500, description="Image URL in the opening message"
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
                raise TicketError("image: give a link starting with https://")
            changes["image"] = url or None
        updated = (
            await self.ctx.settings.update_category(guild, current.key, **changes)
            if changes
            else current
        )
        await _audit(self.ctx, inter, guild, current, updated)
        await reply(
            inter,
            f"{updated.emoji or '🎫'} **{updated.name}**: {updated.description or 'no description'}"
            f" · image {updated.image or 'none'}",
        )

    @category.sub_command(name="delete", description="Remove a kind of ticket.")
    async def category_delete(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = commands.Param(description="Which category"),
    ) -> None:
        guild = await self._admin_guild(inter)
        current = await self._category(guild, category)
        await self.ctx.settings.delete_category(guild, current.key)
        await _audit(self.ctx, inter, guild, current, None)
        await reply(inter, f"Deleted {current.name}. Its tickets keep their history.")

    @category.sub_command(name="list", description="Show every kind of ticket.")
    async def category_list(self, inter: ApplicationCommandInteraction[Any]) -> None:
        guild = await self._admin_guild(inter)
        every = await self.ctx.settings.categories(guild)
        await reply(inter, "\n\n".join(describe(c) for c in every)[:1900] or "No categories yet.")

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
        name="question", contexts=GUILD_ONLY, default_member_permissions=ADMIN_ONLY
    )
    async def question(self, inter: ApplicationCommandInteraction[Any]) -> None:
        """Questions members answer when they open a ticket."""

    @question.sub_command(name="add", description="Add (or change) a question of a category.")
    async def question_add(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = commands.Param(description="Which category"),
        label: str = commands.Param(max_length=45, description="The question"),
        kind: str = commands.Param(
            default="text", choices=["text", "menu"], description="Free text or a choice"
        ),
        options: str | None = commands.Param(
            default=None, max_length=1000, description="For menus: choices, comma-separated"
        ),
        long: bool = commands.Param(default=False, description="A paragraph, not one line"),
        required: bool = commands.Param(default=True, description="Must be answered"),
        min_length: int = commands.Param(default=0, ge=0, le=4000, description="Shortest"),
        max_length: int = commands.Param(default=1000, ge=1, le=4000, description="Longest"),
        placeholder: str | None = commands.Param(
            default=None, max_length=100, description="Hint in the empty field"
        ),
        use_as_topic: bool = commands.Param(
            default=False, description="Its answer becomes the ticket's topic"
        ),
    ) -> None:
        guild = await self._admin_guild(inter)
        current = await self._category(guild, category)
        choices = [o.strip() for o in (options or "").split(",") if o.strip()]
        if kind == "menu" and not choices:
            raise TicketError("A menu question needs options, comma-separated.")
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
            raise TicketError(f"Not saved: {exc}.") from None
        except locks.Busy:
            raise TicketError(
                f"The questions of {current.name} are being changed right now; try again."
            ) from None
        listed = await self.ctx.settings.questions(current.key)
        lines = [f"{n + 1}. {q.label} ({q.kind})" for n, q in enumerate(listed)]
        await reply(inter, f"Questions of {current.name}:\n" + "\n".join(lines))

    @question.sub_command(name="remove", description="Remove a question of a category.")
    async def question_remove(
        self,
        inter: ApplicationCommandInteraction[Any],
        category: str = commands.Param(description="Which category"),
        label: str = commands.Param(description="The question, as listed"),
    ) -> None:
        guild = await self._admin_guild(inter)
        current = await self._category(guild, category)
        existing = await self.ctx.settings.questions(current.key)
        same = next((q for q in existing if q.label.lower() == label.strip().lower()), None)
        if same is None:
            raise TicketError(f"{current.name} has no question {label!r}.")
        await self.ctx.settings.remove_question(current.key, same.key)
        if current.custom_topic == same.key:
            await self.ctx.settings.update_category(guild, current.key, custom_topic=None)
        await reply(inter, f"Removed {same.label!r} from {current.name}.")

    @question_add.autocomplete("category")
    async def _add_category(self, inter: ApplicationCommandInteraction[Any], text: str) -> Any:
        return await self._autocomplete(inter, text)

    @question_remove.autocomplete("category")
    async def _remove_category(self, inter: ApplicationCommandInteraction[Any], text: str) -> Any:
        return await self._autocomplete(inter, text)

    # /settings

    @commands.slash_command(
        name="settings",
        description="Show or change this server's ticket settings.",
        contexts=GUILD_ONLY,
        default_member_permissions=ADMIN_ONLY,
    )
    async def settings(
        self,
        inter: ApplicationCommandInteraction[Any],
        log_channel: disnake.TextChannel | None = commands.Param(
            default=None, description="Where ticket events are logged"
        ),
        archive: bool | None = commands.Param(default=None, description="Keep ticket messages"),
        claim_button: bool | None = commands.Param(default=None, description="Show Claim"),
        close_button: bool | None = commands.Param(default=None, description="Show Close"),
        blocked_roles: str | None = commands.Param(
            default=None, description="Roles that may not open tickets"
        ),
        auto_close: str | None = commands.Param(
            default=None, description="Close this long after a warning, e.g. 12h, or off"
        ),
        stale_after: str | None = commands.Param(
            default=None, description="Warn after this long idle, e.g. 2d, or off"
        ),
        footer: str | None = commands.Param(default=None, max_length=200, description="Footer"),
        colour: str | None = commands.Param(default=None, description="Embed colour, #5865F2"),
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
                raise TicketError(f"colour: {colour!r} is not a colour like #5865F2.")
            changes["colour"] = int(raw, 16)
        before = await self.ctx.settings.guild(guild)
        try:
            current = (
                await self.ctx.settings.update_guild(guild, **changes)
                if changes
                else await self.ctx.settings.guild(guild)
            )
        except SettingsError as exc:
            raise TicketError(f"Not saved: {exc}.") from None
        await audit.settings_changed(
            self.ctx,
            guild,
            str(inter.author.id),
            msgspec.structs.asdict(before),
            msgspec.structs.asdict(current),
            str(inter.id),
        )
        await reply(inter, ("Saved.\n" if changes else "") + describe_guild(current))
