"""Log entries within Discord's embed limits, with differences as ``diff`` blocks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import disnake
from babel.dates import format_timedelta

TITLE_MAX = 256
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
EMBED_MAX = 6000
DESCRIPTION_MAX = 4096
FOOTER_ROOM = 40  # the fingerprint tag log_event adds to entries without buttons
ELLIPSIS = "…"

# Colours of the kinds of entry, as v4 has them: green in, red out, blue for people.
CREATED, CLOSED, CLAIMED, RELEASED = 0x57F287, 0xED4245, 0x5865F2, 0x99AAB5
UPDATED, EDITED, DELETED, SETTINGS = 0xFEE75C, 0xFEE75C, 0xED4245, 0xEB459E


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def _fence_safe(text: str) -> str:
    # Three backticks would end the code block early.
    return text.replace("```", "`\u200b`\u200b`")


def diff_block(before: str | None, after: str | None, limit: int = FIELD_VALUE_MAX) -> str:
    """Red old lines and green new ones in a ``diff`` code block of at most ``limit``."""
    room = limit - len("```diff\n\n```")
    half = room // 2

    def lines(prefix: str, text: str | None, budget: int) -> str:
        if text is None:
            return ""
        body = "\n".join(f"{prefix} {line}" for line in _fence_safe(text).splitlines() or [""])
        return clip(body, budget)

    old = lines("-", before, half)
    new = lines("+", after, room - len(old) - 1)
    return "```diff\n" + "\n".join(part for part in (old, new) if part) + "\n```"


def duration(locale: str, seconds: float) -> str:
    """A duration in words in ``locale`` (``2 hours``, ``3 Tage``)."""
    return format_timedelta(
        timedelta(seconds=seconds), locale=locale.replace("-", "_"), threshold=1.0, format="long"
    )


def entry(
    title: str,
    colour: int,
    fields: Iterable[tuple[str, str]],
    *,
    description: str | None = None,
) -> disnake.Embed:
    """An embed of ``fields`` that fits Discord's limits: values cut to 1024, 6000 in all.

    Fields that do not fit any more are left out; the last one kept says so.
    """
    embed = disnake.Embed(title=clip(title, TITLE_MAX), colour=colour)
    budget = EMBED_MAX - len(embed.title or "") - FOOTER_ROOM
    if description:
        embed.description = clip(description, min(DESCRIPTION_MAX, budget // 2))
        budget -= len(embed.description)
    for count, (name, value) in enumerate(fields):
        name = clip(name, FIELD_NAME_MAX)
        room = min(FIELD_VALUE_MAX, budget - len(name))
        if count == FIELDS_MAX or room < 20:
            break
        value = value or "—"
        if len(value) > room:
            value = _clip_block(value, room)
        embed.add_field(name=name, value=value, inline=False)
        budget -= len(name) + len(value)
    return embed


def _clip_block(value: str, room: int) -> str:
    """Cut a value, keeping a code block closed."""
    if value.startswith("```") and value.endswith("```"):
        return clip(value[:-3].rstrip("\n"), room - 4) + "\n```"
    return clip(value, room)
