"""Members leaving, being removed, timed out or given roles: the world side and its events."""

from __future__ import annotations

from datetime import UTC, datetime

from . import errors
from .models import Member, MemberLeft, ThreadMembersChange
from .state import World


def remove(world: World, guild_id: int, user_id: int) -> None:
    """The member leaves (or is kicked): out of the guild and its threads."""
    guild = world.guild(guild_id)
    if user_id == guild.owner_id:
        raise ValueError("the guild owner cannot leave their guild")
    if guild.members.pop(user_id, None) is None:
        raise errors.not_found(errors.UNKNOWN_MEMBER, "Member")
    for thread in world.threads(guild_id):
        if thread.thread_members.pop(user_id, None) is not None:
            world.emit(
                "THREAD_MEMBERS_UPDATE",
                guild_id,
                ThreadMembersChange(thread_id=thread.id, guild_id=guild_id, removed=[user_id]),
            )
    world.emit("GUILD_MEMBER_REMOVE", guild_id, MemberLeft(guild_id=guild_id, user_id=user_id))


def parse_until(raw: datetime | str | None) -> datetime | None:
    """A timeout end as Discord accepts it: aware, and at most 28 days ahead."""
    if raw is None:
        return None
    try:
        when = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    except ValueError:
        raise _bad_until("DATE_TIME_INVALID", "Invalid ISO8601 timestamp.") from None
    if when.tzinfo is None:
        raise _bad_until("DATE_TIME_INVALID", "The timestamp needs a time zone.")
    if (when - datetime.now(UTC)).total_seconds() > 28 * 24 * 3600:
        raise _bad_until("COMMUNICATION_DISABLED_UNTIL_TOO_FAR", "Timeouts can be at most 28 days.")
    return when


def _bad_until(code: str, message: str) -> errors.DiscordError:
    return errors.form_error(["communication_disabled_until"], code, message)


def set_timeout(world: World, member: Member, until: datetime | str | None) -> None:
    """Time the member out until ``until``; None (or a past time) lifts it."""
    when = parse_until(until)
    member.communication_disabled_until = (
        None if when is None else when.astimezone(UTC).isoformat(timespec="microseconds")
    )
    world.emit("GUILD_MEMBER_UPDATE", member.guild_id, member)


def set_roles(world: World, member: Member, role_ids: list[int]) -> None:
    guild = world.guild(member.guild_id)
    for role_id in role_ids:
        if role_id not in guild.roles or role_id == guild.id:
            raise errors.not_found(errors.UNKNOWN_ROLE, "Role")
    member.roles = list(dict.fromkeys(role_ids))
    world.emit("GUILD_MEMBER_UPDATE", member.guild_id, member)
