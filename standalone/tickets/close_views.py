"""What the bot posts when tickets close: requests, summaries, and their buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import disnake

from standalone.i18n import DEFAULT, t
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


def who(closed_by: str | None, locale: str = DEFAULT) -> str:
    """A closer as Discord shows it: a mention, or what closed it."""
    if closed_by and closed_by.isdigit():
        return f"<@{closed_by}>"
    if closed_by == "discord":
        return t(locale, "close_views.by_discord")
    return t(locale, "close_views.by_automation")


def close_request(
    number: int,
    requested_by: str,
    expect: str,
    reason: str | None,
    due: datetime | None,
    locale: str = DEFAULT,
) -> tuple[disnake.Embed, list[disnake.ui.Button[None]]]:
    """The message asking the other side to accept or reject closing."""
    key = "close_views.request_creator" if expect == "creator" else "close_views.request_staff"
    lines = [t(locale, key, user=f"<@{requested_by}>"), t(locale, "close_views.saved")]
    if due is not None:
        lines.append(t(locale, "close_views.closes_at", when=stamp(due)))
    title = t(locale, "close_views.request_title")
    embed = disnake.Embed(title=title, description="\n".join(lines), colour=PRIMARY)
    if reason:
        embed.add_field(name=t(locale, "close_views.reason"), value=reason[:1024], inline=False)
    buttons: list[disnake.ui.Button[None]] = [
        disnake.ui.Button(
            label=t(locale, "close_views.accept"),
            emoji="✅",
            style=disnake.ButtonStyle.success,
            custom_id=custom_ids.make(custom_ids.CLOSE_ACCEPT, number),
        ),
        disnake.ui.Button(
            label=t(locale, "close_views.reject"),
            emoji="✖️",
            style=disnake.ButtonStyle.secondary,
            custom_id=custom_ids.make(custom_ids.CLOSE_REJECT, number),
        ),
    ]
    return embed, buttons


def settled(text: str, colour: disnake.Colour, locale: str = DEFAULT) -> disnake.Embed:
    """A close request once answered: what happened, without buttons."""
    title = t(locale, "close_views.request_title")
    return disnake.Embed(title=title, description=text, colour=colour)


def closed_buttons(
    guild_id: str, number: int, *, reopenable: bool, locale: str = DEFAULT
) -> list[disnake.ui.Button[None]]:
    """Transcript (and, for thread tickets, Reopen) under a close summary."""
    buttons: list[disnake.ui.Button[None]] = [
        disnake.ui.Button(
            label=t(locale, "close_views.transcript"),
            emoji="📄",
            style=disnake.ButtonStyle.secondary,
            custom_id=custom_ids.make(custom_ids.TRANSCRIPT, guild_id, number),
        )
    ]
    if reopenable:
        buttons.append(
            disnake.ui.Button(
                label=t(locale, "close_views.reopen"),
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
    locale: str = DEFAULT,
) -> disnake.Embed:
    """The facts of a closed ticket, for the creator's DM and the log channel."""

    def field(key: str, value: str, *, inline: bool = True) -> None:
        embed.add_field(name=t(locale, f"close_views.{key}"), value=value, inline=inline)

    embed = disnake.Embed(title=title, colour=GREY, timestamp=closed_at)
    field("ticket", f"{category} #{number}")
    if creator_id is not None:
        field("opened_by", f"<@{creator_id}>")
    field("topic", (topic or t(locale, "close_views.no_topic"))[:1024], inline=False)
    field("opened", stamp(opened_at))
    after = duration(closed_at - opened_at)
    field("closed", t(locale, "close_views.closed_after", when=stamp(closed_at), after=after))
    first = duration(first_response_at - opened_at) if first_response_at else None
    field("first_response", first or t(locale, "close_views.none"))
    stars = (
        f"{'★' * rating}{'☆' * (5 - rating)} ({rating}/5)"
        if rating
        else t(locale, "close_views.not_given")
    )
    field("feedback", stars)
    if comment:
        field("comment", comment[:1024], inline=False)
    field("closed_by", who(closed_by, locale))
    field("reason", (reason or t(locale, "close_views.none_given"))[:1024], inline=False)
    return embed
