"""Answering an interaction whether or not an earlier delivery already answered it."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.interactions.base import Interaction

from standalone.i18n import Text, normalise, supported

# Discord: "Interaction has already been acknowledged" (a redelivered interaction).
ALREADY_ACKNOWLEDGED = 40060

NO_PINGS = disnake.AllowedMentions.none()


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


async def reply(
    inter: Interaction[Any], text: str | Text, *, guild_locale: str | None = None
) -> None:
    """Send an ephemeral answer: the response if still open, else a followup.

    A ``Text`` is rendered in the reader's locale (see ``reader_locale``).
    """
    if isinstance(text, Text):
        text = text.render(reader_locale(inter, guild_locale))
    if not inter.response.is_done():
        try:
            await inter.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        except disnake.HTTPException as exc:
            if exc.code != ALREADY_ACKNOWLEDGED:
                raise
    await inter.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)


def forbidden_message(exc: disnake.Forbidden) -> str:
    """A refusal by Discord that retrying cannot fix: the bot lacks a permission."""
    return (
        "I am missing a Discord permission for that "
        f"({exc.text or 'forbidden'}). Ask an admin to check my role and the channel's "
        "permissions."
    )
