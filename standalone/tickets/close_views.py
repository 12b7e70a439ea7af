"""What the bot posts when tickets close: requests, summaries, and their buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import disnake

from standalone.tickets import custom_ids

PRIMARY = disnake.Colour(0x5865F2)
GREEN = disnake.Colour(0x57F287)
RED = disnake.Colour(0xED4245)
GREY = disnake.Colour(0x4F545C)


def duration(delta: timedelta) -> str:
    """``2d 3h``, ``5m 10s``: the two largest units."""
    seconds = max(0, int(delta.total_seconds()))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def stamp(moment: datetime) -> str:
    """A Discord timestamp, shown in each reader's own time zone."""
    return f"<t:{int(moment.timestamp())}:f>"


def fingerprint(closed_at: datetime) -> str:
    """How a close summary's embed timestamp reads back: unique to one close."""
    return closed_at.astimezone(UTC).isoformat()


def who(closed_by: str | None) -> str:
    """A closer as Discord shows it: a mention, or what closed it."""
    if closed_by and closed_by.isdigit():
        return f"<@{closed_by}>"
    if closed_by == "discord":
        return "Discord (the channel was deleted)"
    return "automation"


def close_request(
    number: int, requested_by: str, expect: str, reason: str | None, due: datetime | None
) -> tuple[disnake.Embed, list[disnake.ui.Button[None]]]:
    """The message asking the other side to accept or reject closing."""
    answerer = "the member who opened it" if expect == "creator" else "staff"
    text = f"<@{requested_by}> asked to close this ticket; {answerer} may accept or reject."
    text += "\nMessages in it are saved in its transcript."
    if due is not None:
        text += f"\nWithout an answer it closes {stamp(due)}; any message here cancels the request."
    embed = disnake.Embed(title="Close request", description=text, colour=PRIMARY)
    if reason:
        embed.add_field(name="Reason", value=reason[:1024], inline=False)
    buttons: list[disnake.ui.Button[None]] = [
        disnake.ui.Button(
            label="Accept",
            emoji="✅",
            style=disnake.ButtonStyle.success,
            custom_id=custom_ids.make(custom_ids.CLOSE_ACCEPT, number),
        ),
        disnake.ui.Button(
            label="Reject",
            emoji="✖️",
            style=disnake.ButtonStyle.secondary,
            custom_id=custom_ids.make(custom_ids.CLOSE_REJECT, number),
        ),
    ]
    return embed, buttons


def settled(text: str, colour: disnake.Colour) -> disnake.Embed:
    """A close request once answered: what happened, without buttons."""
    return disnake.Embed(title="Close request", description=text, colour=colour)


def closed_buttons(
    guild_id: str, number: int, *, reopenable: bool
) -> list[disnake.ui.Button[None]]:
    """Transcript (and, for thread tickets, Reopen) under a close summary."""
    buttons: list[disnake.ui.Button[None]] = [
        disnake.ui.Button(
            label="Transcript",
            emoji="📄",
            style=disnake.ButtonStyle.secondary,
            custom_id=custom_ids.make(custom_ids.TRANSCRIPT, guild_id, number),
        )
    ]
    if reopenable:
        buttons.append(
            disnake.ui.Button(
                label="Reopen",
                emoji="🔓",
                style=disnake.ButtonStyle.primary,
                custom_id=custom_ids.make(custom_ids.REOPEN, guild_id, number),
            )
        )
    return buttons


def closed_summary(
    *,
    title: str,
    category: str,
    number: int,
    topic: str | None,
    opened_at: datetime,
    closed_at: datetime,
    first_response_at: datetime | None,
    rating: int | None,
    comment: str | None,
    closed_by: str | None,
    reason: str | None,
    creator_id: str | None = None,
) -> disnake.Embed:
    """The facts of a closed ticket, for the creator's DM and the log channel."""
    embed = disnake.Embed(title=title, colour=GREY, timestamp=closed_at)
    embed.add_field(name="Ticket", value=f"{category} #{number}", inline=True)
    if creator_id is not None:
        embed.add_field(name="Opened by", value=f"<@{creator_id}>", inline=True)
    embed.add_field(name="Topic", value=(topic or "(no topic)")[:1024], inline=False)
    embed.add_field(name="Opened", value=stamp(opened_at), inline=True)
    embed.add_field(
        name="Closed",
        value=f"{stamp(closed_at)} (after {duration(closed_at - opened_at)})",
        inline=True,
    )
    embed.add_field(
        name="First response",
        value=duration(first_response_at - opened_at) if first_response_at else "none",
        inline=True,
    )
    stars = f"{'★' * rating}{'☆' * (5 - rating)} ({rating}/5)" if rating else "not given"
    embed.add_field(name="Feedback", value=stars, inline=True)
    if comment:
        embed.add_field(name="Comment", value=comment[:1024], inline=False)
    embed.add_field(name="Closed by", value=who(closed_by), inline=True)
    embed.add_field(name="Reason", value=(reason or "(none given)")[:1024], inline=False)
    return embed
