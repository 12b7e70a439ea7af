"""Answering an interaction whether or not an earlier delivery already answered it."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import disnake
from disnake.interactions.base import Interaction

from standalone.i18n import Text, normalise, supported

# Discord: "Interaction has already been acknowledged" (a redelivered interaction).
ALREADY_ACKNOWLEDGED = 40060

NO_PINGS = disnake.AllowedMentions.none()

GuildLocale = Callable[[int], Awaitable[str]]
# Each tenant's bot and how to read the locale its guilds chose, so an answer to a
# person whose own language the bot does not speak comes in the guild's.
_GUILD_LOCALES: weakref.WeakKeyDictionary[Any, GuildLocale] = weakref.WeakKeyDictionary()


def register_guild_locales(bot: Any, resolve: GuildLocale) -> None:
    """Tell ``reply`` how ``bot``'s guilds chose their locale."""
    _GUILD_LOCALES[bot] = resolve


async def guild_locale_of(inter: Interaction[Any]) -> str | None:
    """The locale the interaction's guild chose, None outside a guild or an unknown bot."""
    resolve = _GUILD_LOCALES.get(inter.client)
    if resolve is None or inter.guild_id is None:
        return None
    return await resolve(inter.guild_id)


async def defer(inter: Interaction[Any]) -> None:
    """Acknowledge now, answer later; fine if a previous delivery acknowledged it."""
    if inter.response.is_done():
        return
    try:
        await inter.response.defer(ephemeral=True, with_message=True)
    except disnake.HTTPException as exc:
        if exc.code != ALREADY_ACKNOWLEDGED:
            raise


def _locale_name(value: Any) -> str | None:
    return str(getattr(value, "value", value)) if value else None


def reader_locale(inter: Interaction[Any], guild_locale: str | None = None) -> str:
    """The locale to answer one person in: theirs when the bot speaks it, else the guild's.

    ``guild_locale`` is the guild's setting; without it, the locale Discord reports
    for the server is taken.
    """
    return supported(_locale_name(inter.locale)) or normalise(
        guild_locale or _locale_name(getattr(inter, "guild_locale", None))
    )


async def answer_locale(inter: Interaction[Any], guild_locale: str | None = None) -> str:
    """``reader_locale``, reading the guild's setting only when the reader's is unsupported."""
    if supported(_locale_name(inter.locale)) is None and guild_locale is None:
        guild_locale = await guild_locale_of(inter)
    return reader_locale(inter, guild_locale)


async def reply(
    inter: Interaction[Any], text: str | Text, *, guild_locale: str | None = None
) -> None:
    """Send an ephemeral answer: the response if still open, else a followup.

    A ``Text`` is rendered in the reader's locale (see ``reader_locale``).
    """
    if isinstance(text, Text):
        text = text.render(await answer_locale(inter, guild_locale))
    if not inter.response.is_done():
        try:
            await inter.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        except disnake.HTTPException as exc:
            if exc.code != ALREADY_ACKNOWLEDGED:
                raise
    await inter.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)


def forbidden_message(exc: disnake.Forbidden) -> Text:
    """A refusal by Discord that retrying cannot fix: the bot lacks a permission."""
    return Text("replies.forbidden", detail=exc.text or "forbidden")
