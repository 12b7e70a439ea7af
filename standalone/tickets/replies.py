"""Answering an interaction whether or not an earlier delivery already answered it."""

from __future__ import annotations

from typing import Any

import disnake
from disnake.interactions.base import Interaction

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


async def reply(inter: Interaction[Any], text: str) -> None:
    """Send an ephemeral answer: the response if still open, else a followup."""
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
