"""What a new ticket refers to: an earlier ticket, or a message picked from a channel.

A referenced ticket must be the member's own, or one they see as staff (its
category's staff or an admin); its topic is decrypted into the new ticket with a
Transcript button when it was archived (the button's handler checks access again,
also from a DM). A referenced message is copied into the archive as *external*
(kept with the ticket, left out of its transcript); system messages and messages
without text are not referred to, as in v4.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import disnake
from disnake.interactions.base import Interaction

from standalone.db.records import GuildSettings, Ticket
from standalone.i18n import Text, t
from standalone.tickets import custom_ids
from standalone.tickets.context import TicketContext, is_staff
from standalone.tickets.errors import TicketError

# Discord message types a member writes: a message and a reply.
MEMBER_MESSAGE_TYPES = frozenset({0, 19})
QUOTE_CHARS = 1000


def stamp(moment: datetime, style: str) -> str:
    """Discord's timestamp markup, which each reader's client shows in their own language."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def referable(message_type: int, content: str) -> bool:
    """Whether a message is worth referring to: a member's message with text."""
    return message_type in MEMBER_MESSAGE_TYPES and bool(content.strip())


def parse_number(typed: str) -> int | None:
    """A ticket number as typed or picked (``12``, ``#12``); plain text, never a pattern."""
    raw = typed.strip().lstrip("#")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


async def allowed_ticket(ctx: TicketContext, inter: Interaction[Any], number: int) -> Ticket:
    """The guild's ticket ``number`` if this member may refer to it; refuses clearly."""
    if inter.guild_id is None:
        raise TicketError(Text("references.in_server"))
    earlier = await ctx.tickets.get(str(inter.guild_id), number)
    if earlier is None or earlier.state == "opening":
        raise TicketError(Text("references.unknown", number=number))
    if earlier.creator_id == str(inter.author.id):
        return earlier
    if is_staff(inter, await ctx.category_of(earlier)):
        return earlier
    raise TicketError(Text("references.not_yours", number=number))


async def ticket_reference(
    ctx: TicketContext, earlier: Ticket, locale: str, settings: GuildSettings
) -> tuple[disnake.Embed, list[disnake.ui.Button[None]]]:
    """The embed naming an earlier ticket, and its Transcript button when it was archived."""
    topic = ctx.cipher.decrypt(earlier.topic) if earlier.topic else t(locale, "references.no_topic")
    embed = disnake.Embed(
        title=t(locale, "references.ticket_title", number=earlier.number),
        description=topic[:QUOTE_CHARS],
        colour=settings.colour,
        timestamp=earlier.created_at,
    )
    embed.add_field(name=t(locale, "references.opened"), value=stamp(earlier.created_at, "D"))
    if earlier.closed_at is not None:
        embed.add_field(name=t(locale, "references.closed"), value=stamp(earlier.closed_at, "R"))
    buttons: list[disnake.ui.Button[None]] = []
    if earlier.transcript_key is not None:
        buttons.append(
            disnake.ui.Button(
                label=t(locale, "references.transcript_button", number=earlier.number)[:80],
                emoji="📄",
                style=disnake.ButtonStyle.secondary,
                custom_id=custom_ids.make(custom_ids.TRANSCRIPT, earlier.guild_id, earlier.number),
            )
        )
    return embed, buttons


async def message_reference(
    ctx: TicketContext,
    ticket: Ticket,
    channel_id: int,
    message_id: int,
    locale: str,
    settings: GuildSettings,
) -> disnake.Embed | None:
    """Archive the message as external and quote it; None when it is gone or not referable."""
    try:
        message = await ctx.bot.http.get_message(channel_id, message_id)
    except (disnake.NotFound, disnake.Forbidden):
        return None
    text = str(message.get("content") or "")
    if not referable(int(message.get("type", 0)), text):
        return None  # emptied or a system notice by now: nothing to refer to
    author = cast(dict[str, Any], message["author"])
    name = str(author.get("global_name") or author.get("username") or "?")
    sent = disnake.utils.parse_time(message["timestamp"])
    await ctx.tickets.archive_message(
        ticket,
        message_id=str(message["id"]),
        author_id=str(author.get("id", "0")),
        author_name=ctx.cipher.encrypt(name),
        author_bot=bool(author.get("bot", False)),
        content=ctx.cipher.encrypt(text),
        created_at=sent,
        external=True,
    )
    link = f"https://discord.com/channels/{ticket.guild_id}/{channel_id}/{message_id}"
    embed = disnake.Embed(
        title=t(locale, "references.message_title"),
        url=link,
        description=text[:QUOTE_CHARS],
        colour=settings.colour,
        timestamp=sent,
    )
    avatar = author.get("avatar")
    icon = f"https://cdn.discordapp.com/avatars/{author.get('id')}/{avatar}.png" if avatar else None
    embed.set_author(name=f"{name} (@{author.get('username', '?')})"[:256], icon_url=icon)
    embed.add_field(
        name=t(locale, "references.sent"),
        value=f"{stamp(sent, 'R')} · <#{channel_id}> · <@{author.get('id', '0')}>",
    )
    return embed
