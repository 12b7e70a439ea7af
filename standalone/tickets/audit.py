"""What staff tools and settings commands report to the guild's log channel.

Features call these after a change has been saved; ``event_id`` (the interaction
id, or the API request's) makes the entry's fingerprint, so a redelivered event
finds the entry its first delivery posted. Entries are in the guild's locale and
show what staff may see: the topic decrypted but cut short, never a close reason
or any other secret field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from standalone.db.records import Ticket
from standalone.i18n import t
from standalone.i18n.catalogue import lookup
from standalone.tickets.context import TicketContext
from standalone.tickets.log_format import SETTINGS, UPDATED, clip, diff_block, duration, entry
from standalone.tickets.logs import fingerprint_of, log_event

# Ticket fields a log entry may show; the rest are internal or secret.
SHOWN_FIELDS = ("category", "creator_id", "claimed_by", "priority", "added_members", "channel_id")
TOPIC_SHOWN = 300  # characters of a topic an entry shows
TEXT_SHOWN = 400  # characters of a changed text setting an entry shows of each side
PRIORITY_EMOJI = {"low": "🟢", "medium": "🟠", "high": "🔴", "urgent": "🚨"}
# Record fields no person sets, left out of settings entries.
INTERNAL = frozenset({"key", "guild_id", "interaction_id", "tenant", "id"})
CHANNEL_FIELDS = frozenset({"log_channel", "thread_channel", "discord_category"})
PLAIN_TEXT = frozenset({"mode", "locale", "emoji", "custom_topic"})
# A category's None for these means "as the server has it".
FOLLOWS_GUILD = frozenset({"auto_close_ms", "stale_after_ms", "archive"})


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The keys whose values differ, as (before, after)."""
    return {
        key: (before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def mentions(ids: list[str], kind: str = "@") -> str:
    """``<@1> <@2>`` (``kind`` ``@&`` for roles)."""
    return " ".join(f"<{kind}{i}>" for i in ids)


def added_removed(locale: str, before: list[str], after: list[str], kind: str = "@") -> str:
    """Who (or which roles) came and went, as mentions."""
    added = [i for i in after if i not in before]
    removed = [i for i in before if i not in after]
    lines = []
    if added:
        lines.append(t(locale, "logs.added", who=mentions(added, kind)))
    if removed:
        lines.append(t(locale, "logs.removed", who=mentions(removed, kind)))
    return "\n".join(lines) or t(locale, "logs.none")


def arrow(locale: str, before: str | None, after: str | None) -> str:
    """``old → new``, ``none`` standing in for a missing side."""
    none = t(locale, "logs.none")
    return f"{before or none} → {after or none}"


def priority(locale: str, value: str | None) -> str | None:
    """A priority with its emoji."""
    if value is None:
        return None
    return f"{PRIORITY_EMOJI.get(value.lower(), '')} {value}".strip()


async def ticket_updated(
    ctx: TicketContext,
    before: Ticket,
    after: Ticket,
    actor_id: str,
    event_id: str,
    *,
    renamed: tuple[str, str] | None = None,
) -> str | None:
    """Log a change to a ticket (members, category, priority, topic…) with what changed.

    ``renamed`` is the channel's name before and after: Discord keeps it, not the record.
    """
    diff = changed(
        {f: getattr(before, f) for f in SHOWN_FIELDS}, {f: getattr(after, f) for f in SHOWN_FIELDS}
    )
    if renamed is not None and renamed[0] == renamed[1]:
        renamed = None
    if not diff and before.topic == after.topic and renamed is None:
        return None
    locale = await ctx.guild_locale(after.guild_id)
    fields = [(t(locale, "logs.by"), f"<@{actor_id}>")]
    render: dict[str, Callable[[Any, Any], Any]] = {
        "added_members": lambda old, new: added_removed(locale, old or [], new or []),
        "priority": lambda old, new: arrow(locale, priority(locale, old), priority(locale, new)),
        "creator_id": lambda old, new: arrow(locale, _user(old), _user(new)),
        "claimed_by": lambda old, new: arrow(locale, _user(old), _user(new)),
        "channel_id": lambda old, new: arrow(locale, _channel(old), _channel(new)),
    }
    for name, (old, new) in diff.items():
        if name == "category":
            value = arrow(
                locale,
                await _category_name(ctx, after.guild_id, old),
                await _category_name(ctx, after.guild_id, new),
            )
        else:
            value = render[name](old, new)
        fields.append((t(locale, f"logs.ticket_field.{name}"), value))
    if before.topic != after.topic:
        fields.append(
            (
                t(locale, "logs.ticket_field.topic"),
                diff_block(_topic(ctx, before.topic), _topic(ctx, after.topic)),
            )
        )
    if renamed is not None:
        fields.append(
            (t(locale, "logs.ticket_field.name"), arrow(locale, f"#{renamed[0]}", f"#{renamed[1]}"))
        )
    embed = entry(t(locale, "logs.ticket_updated", number=after.number), UPDATED, fields)
    return await log_event(
        ctx, after.guild_id, embed, fingerprint=fingerprint_of("ticket-updated", event_id)
    )


def _user(user_id: str | None) -> str | None:
    return f"<@{user_id}>" if user_id else None


def _channel(channel_id: str | None) -> str | None:
    return f"<#{channel_id}>" if channel_id else None


def _topic(ctx: TicketContext, encrypted: str | None) -> str | None:
    return clip(ctx.cipher.decrypt(encrypted), TOPIC_SHOWN) if encrypted else None


async def _category_name(ctx: TicketContext, guild_id: str, key: str | None) -> str | None:
    if key is None:
        return None
    category = await ctx.settings.category(guild_id, key)
    return category.name if category else t(await ctx.guild_locale(guild_id), "logs.deleted")


async def settings_changed(
    ctx: TicketContext,
    guild_id: str,
    actor_id: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    event_id: str,
    *,
    what: str = "settings",
) -> str | None:
    """Log a change to a guild's settings or one of its categories.

    ``what`` is ``settings`` for the guild's own settings, else the category's name;
    an empty ``before`` is a category created, an empty ``after`` one deleted.
    """
    diff = {k: v for k, v in changed(before, after).items() if k not in INTERNAL}
    if not diff:
        return None
    locale = await ctx.guild_locale(guild_id)
    guild_wide = what == "settings"
    if guild_wide:
        title = t(locale, "logs.settings_changed")
    elif not before:
        title = t(locale, "logs.category_created", name=what)
    elif not after:
        title = t(locale, "logs.category_deleted", name=what)
    else:
        title = t(locale, "logs.category_changed", name=what)
    fields = [(t(locale, "logs.by"), f"<@{actor_id}>")]
    if before and after:
        for name, (old, new) in diff.items():
            label = setting_label(locale, name)
            fields.append((label, setting_value(locale, name, old, new, guild_wide=guild_wide)))
    embed = entry(title, SETTINGS, fields)
    fingerprint = fingerprint_of(f"settings:{what}", event_id)
    return await log_event(ctx, guild_id, embed, fingerprint=fingerprint)


def setting_label(locale: str, name: str) -> str:
    """A setting's name in ``locale``; the field's own name for one added since."""
    key = f"logs.setting.{name}"
    return t(locale, key) if lookup(locale, key) is not None else name


def setting_value(locale: str, name: str, old: Any, new: Any, *, guild_wide: bool) -> str:
    """How one setting changed, in words staff read: mentions, durations, on/off."""
    if name.endswith("_roles"):
        return added_removed(locale, list(old or []), list(new or []), "@&")
    if name in CHANNEL_FIELDS:
        return arrow(locale, _channel(old), _channel(new))

    def shown(value: Any) -> str:
        if value is None:
            if not guild_wide and name in FOLLOWS_GUILD:
                return t(locale, "logs.server_default")
            return t(locale, "logs.off" if name.endswith(("_ms", "_s")) else "logs.none")
        if isinstance(value, bool):
            return t(locale, "logs.on" if value else "logs.off")
        if name.endswith("_ms"):
            return duration(locale, value / 1000) if value else t(locale, "logs.off")
        if name == "slowmode_s":
            return duration(locale, value) if value else t(locale, "logs.off")
        if name == "colour" and isinstance(value, int):
            return f"#{value:06X}"
        return str(value)

    if (isinstance(old, str) or isinstance(new, str)) and name not in PLAIN_TEXT:
        return diff_block(
            clip(old, TEXT_SHOWN) if isinstance(old, str) else None,
            clip(new, TEXT_SHOWN) if isinstance(new, str) else None,
        )
    return f"{shown(old)} → {shown(new)}"
