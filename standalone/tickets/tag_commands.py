"""``/tag`` posts a saved answer; ``/tags`` lets staff keep them and say where they auto-reply."""

from __future__ import annotations

import re
from typing import Any

import disnake
from disnake.ext import commands
from disnake.interactions.application_command import ApplicationCommandInteraction

from standalone.db.records import GuildSettings
from standalone.db.settings import SettingsError
from standalone.db.tags import MAX_CONTENT, MAX_NAME, MAX_PATTERN, Tag, TagError, TagRepository
from standalone.i18n import Text, localised
from standalone.tickets import autocomplete
from standalone.tickets.commands import FeatureCog
from standalone.tickets.context import TicketContext, is_any_staff, mention_ok
from standalone.tickets.errors import TicketError
from standalone.tickets.replies import ALREADY_ACKNOWLEDGED, NO_PINGS, reply

GUILD_ONLY = disnake.InteractionContextTypes(guild=True)
_CHANNEL = re.compile(r"<#(\d{1,20})>|(\d{5,20})")
_TEXT_CHANNELS = {0, 5}  # text and announcement channels: where members write
LISTED = 40  # names in /tags list; the rest are counted


def tag_refusal(exc: TagError) -> TicketError:
    """A repository refusal, in the reader's language."""
    return TicketError(Text(f"tags.error.{exc.problem}", **exc.values))


def where_text(settings: GuildSettings) -> Text:
    """Where auto-replies go, for the staff member who set it."""
    places = [f"<#{c}>" for c in settings.auto_tag_channels]
    if settings.auto_tag_tickets:
        return Text("tags.auto.where_tickets", channels=" ".join(places) or "-")
    if places:
        return Text("tags.auto.where_channels", channels=" ".join(places))
    return Text("tags.auto.where_nowhere")


class TagCommands(FeatureCog):
    """``/tag`` for everyone, ``/tags …`` for staff."""

    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx
        self.tags = TagRepository(ctx.tickets.database, ctx.tenant)

    async def _staff_guild(self, inter: ApplicationCommandInteraction[Any]) -> str:
        if inter.guild_id is None:
            raise TicketError(Text("tags.guild_only"))
        guild = str(inter.guild_id)
        if not is_any_staff(inter, await self.ctx.settings.categories(guild)):
            raise TicketError(Text("tags.staff_only"))
        return guild

    async def _find(self, guild: str, key_or_name: str) -> Tag:
        """By the key a suggestion sent, or by the name as typed (any case)."""
        wanted = key_or_name.strip().casefold()
        for tag in await self.tags.list(guild):
            if tag.key == key_or_name or tag.name.casefold() == wanted:
                return tag
        raise TicketError(Text("tags.not_found", name=key_or_name.strip()[:MAX_NAME]))

    # /tag

    @commands.slash_command(
        name=localised("cmd_tags.tag.name"),
        description=localised("cmd_tags.tag.description"),
        contexts=GUILD_ONLY,
    )
    async def tag(
        self,
        inter: ApplicationCommandInteraction[Any],
        tag: str = commands.Param(
            name=localised("cmd_tags.tag.tag.name"),
            description=localised("cmd_tags.tag.tag.description"),
            max_length=100,
        ),
        member: disnake.Member | None = commands.Param(
            default=None,
            name=localised("cmd_tags.tag.member.name"),
            description=localised("cmd_tags.tag.member.description"),
        ),
    ) -> None:
        if inter.guild_id is None:
            raise TicketError(Text("tags.guild_only"))
        found = await self._find(str(inter.guild_id), tag)
        settings = await self.ctx.guild_settings(str(inter.guild_id))
        embed = disnake.Embed(description=found.content, colour=disnake.Colour(settings.colour))
        embed.set_author(name=found.name)
        try:
            await inter.response.send_message(
                member.mention if member is not None else None,
                embed=embed,
                allowed_mentions=mention_ok([member.id]) if member is not None else NO_PINGS,
            )
        except disnake.HTTPException as exc:
            if exc.code != ALREADY_ACKNOWLEDGED:
                raise  # posted by an earlier delivery otherwise: nothing left to do

    @tag.autocomplete("tag")
    async def _tag_names(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> list[disnake.OptionChoice]:
        return await autocomplete.tags(self.ctx, inter.guild_id, text)

    # /tags

    @commands.slash_command(
        name=localised("cmd_tags.tags.name"),
        description=localised("cmd_tags.tags.description"),
        contexts=GUILD_ONLY,
    )
    async def tags_group(self, inter: ApplicationCommandInteraction[Any]) -> None:
        """Staff keep the server's tags."""

    @tags_group.sub_command(
        name=localised("cmd_tags.tags.create.name"),
        description=localised("cmd_tags.tags.create.description"),
    )
    async def tags_create(
        self,
        inter: ApplicationCommandInteraction[Any],
        name: str = commands.Param(
            name=localised("cmd_tags.tags.create.tag_name.name"),
            description=localised("cmd_tags.tags.create.tag_name.description"),
            max_length=100,
        ),
        content: str = commands.Param(
            name=localised("cmd_tags.tags.create.content.name"),
            description=localised("cmd_tags.tags.create.content.description"),
            max_length=MAX_CONTENT,
        ),
        pattern: str | None = commands.Param(
            default=None,
            name=localised("cmd_tags.tags.create.pattern.name"),
            description=localised("cmd_tags.tags.create.pattern.description"),
            max_length=MAX_PATTERN * 2,  # longer ones get the clear refusal, not Discord's
        ),
    ) -> None:
        guild = await self._staff_guild(inter)
        try:
            made = await self.tags.create(
                guild, name.strip(), content.replace("\\n", "\n"), pattern or None
            )
        except TagError as exc:
            raise tag_refusal(exc) from None
        await reply(inter, Text("tags.created", name=made.name))

    @tags_group.sub_command(
        name=localised("cmd_tags.tags.edit.name"),
        description=localised("cmd_tags.tags.edit.description"),
    )
    async def tags_edit(
        self,
        inter: ApplicationCommandInteraction[Any],
        tag: str = commands.Param(
            name=localised("cmd_tags.tags.edit.tag.name"),
            description=localised("cmd_tags.tags.edit.tag.description"),
            max_length=100,
        ),
        name: str | None = commands.Param(
            default=None,
            name=localised("cmd_tags.tags.edit.new_name.name"),
            description=localised("cmd_tags.tags.edit.new_name.description"),
            max_length=100,
        ),
        content: str | None = commands.Param(
            default=None,
            name=localised("cmd_tags.tags.edit.content.name"),
            description=localised("cmd_tags.tags.edit.content.description"),
            max_length=MAX_CONTENT,
        ),
        pattern: str | None = commands.Param(
            default=None,
            name=localised("cmd_tags.tags.edit.pattern.name"),
            description=localised("cmd_tags.tags.edit.pattern.description"),
            max_length=MAX_PATTERN * 2,
        ),
    ) -> None:
        guild = await self._staff_guild(inter)
        current = await self._find(guild, tag)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name.strip()
        if content is not None:
            changes["content"] = content.replace("\\n", "\n")
        if pattern is not None:
            # "none" (or "-") takes the pattern away: the tag no longer auto-replies.
            changes["regex"] = None if pattern.strip().lower() in {"none", "-"} else pattern
        if not changes:
            raise TicketError(Text("tags.nothing_to_change"))
        try:
            updated = await self.tags.update(guild, current.key, **changes)
        except TagError as exc:
            raise tag_refusal(exc) from None
        if updated is None:
            raise TicketError(Text("tags.not_found", name=current.name))
        await reply(inter, Text("tags.updated", name=updated.name))

    @tags_group.sub_command(
        name=localised("cmd_tags.tags.delete.name"),
        description=localised("cmd_tags.tags.delete.description"),
    )
    async def tags_delete(
        self,
        inter: ApplicationCommandInteraction[Any],
        tag: str = commands.Param(
            name=localised("cmd_tags.tags.delete.tag.name"),
            description=localised("cmd_tags.tags.delete.tag.description"),
            max_length=100,
        ),
    ) -> None:
        guild = await self._staff_guild(inter)
        current = await self._find(guild, tag)
        await self.tags.delete(guild, current.key)
        await reply(inter, Text("tags.deleted", name=current.name))

    @tags_group.sub_command(
        name=localised("cmd_tags.tags.list.name"),
        description=localised("cmd_tags.tags.list.description"),
    )
    async def tags_list(self, inter: ApplicationCommandInteraction[Any]) -> None:
        guild = await self._staff_guild(inter)
        every = await self.tags.list(guild)
        if not every:
            await reply(inter, Text("tags.list_empty"))
            return
        lines = [
            f"• `{t.name}`" + (f" ({t.regex[:60]})" if t.regex else "") for t in every[:LISTED]
        ]
        more = Text("tags.list_more", count=len(every) - LISTED) if len(every) > LISTED else ""
        await reply(
            inter,
            Text("tags.list", count=len(every), lines="\n".join(lines), more=more),
        )

    @tags_group.sub_command(
        name=localised("cmd_tags.tags.auto.name"),
        description=localised("cmd_tags.tags.auto.description"),
    )
    async def tags_auto(
        self,
        inter: ApplicationCommandInteraction[Any],
        tickets: bool | None = commands.Param(
            default=None,
            name=localised("cmd_tags.tags.auto.tickets.name"),
            description=localised("cmd_tags.tags.auto.tickets.description"),
        ),
        channels: str | None = commands.Param(
            default=None,
            name=localised("cmd_tags.tags.auto.channels.name"),
            description=localised("cmd_tags.tags.auto.channels.description"),
            max_length=1000,
        ),
    ) -> None:
        guild = await self._staff_guild(inter)
        changes: dict[str, Any] = {}
        if tickets is not None:
            changes["auto_tag_tickets"] = tickets
        if channels is not None:
            changes["auto_tag_channels"] = await self._channels(guild, channels)
        try:
            settings = (
                await self.ctx.settings.update_guild(guild, **changes)
                if changes
                else await self.ctx.guild_settings(guild)
            )
        except SettingsError as exc:
            raise TicketError(str(exc)) from None
        await reply(inter, where_text(settings))

    async def _channels(self, guild: str, text: str) -> list[str]:
        """Channel mentions or ids, or ``none``; refuses what is not a text channel here."""
        if text.strip().lower() in {"none", "-", ""}:
            return []
        ids = [a or b for a, b in _CHANNEL.findall(text)]
        if _CHANNEL.sub("", text).replace(",", " ").strip() or not ids:
            raise TicketError(Text("tags.auto.bad_channels", text=text[:100]))
        known = {
            str(c["id"])
            for c in await self.ctx.bot.http.get_all_guild_channels(int(guild))
            if c.get("type") in _TEXT_CHANNELS
        }
        unknown = [c for c in ids if c not in known]
        if unknown:
            raise TicketError(Text("tags.auto.unknown_channels", ids=", ".join(unknown[:5])))
        return list(dict.fromkeys(ids))

    @tags_edit.autocomplete("tag")
    async def _edit_names(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> list[disnake.OptionChoice]:
        return await autocomplete.tags(self.ctx, inter.guild_id, text)

    @tags_delete.autocomplete("tag")
    async def _delete_names(
        self, inter: ApplicationCommandInteraction[Any], text: str
    ) -> list[disnake.OptionChoice]:
        return await autocomplete.tags(self.ctx, inter.guild_id, text)
