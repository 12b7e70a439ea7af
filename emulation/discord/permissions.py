"""Permission bits and Discord's effective-permission algorithm."""

from __future__ import annotations

from collections.abc import Iterable

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
MANAGE_ROLES = 1 << 28
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
PIN_MESSAGES = 1 << 51

# Every bit Discord may define; clients ignore bits they do not know.
ALL = (1 << 53) - 1

# What @everyone gets in a freshly created guild: chat, voice and slash commands, nothing
# that manages anything.
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | (1 << 9)  # STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | (1 << 18)  # USE_EXTERNAL_EMOJIS
    | (1 << 20)  # CONNECT
    | (1 << 21)  # SPEAK
    | (1 << 25)  # USE_VAD
    | (1 << 26)  # CHANGE_NICKNAME
    | (1 << 31)  # USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | (1 << 37)  # USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
)

OVERWRITE_ROLE = 0
OVERWRITE_MEMBER = 1


def base_permissions(*, everyone: int, role_permissions: Iterable[int], is_owner: bool) -> int:
    if is_owner:
        return ALL
    perms = everyone
    for value in role_permissions:
        perms |= value
    if perms & ADMINISTRATOR:
        return ALL
    return perms


def apply_overwrites(
    base: int,
    *,
    everyone: tuple[int, int] | None,
    roles: Iterable[tuple[int, int]],
    member: tuple[int, int] | None,
) -> int:
    """Apply (allow, deny) pairs in Discord's order: @everyone, all roles together, member.

    Administrators are never limited by overwrites, so callers skip this for ``ALL``.
    """
    if base == ALL:
        return ALL
    perms = base
    if everyone is not None:
        allow, deny = everyone
        perms = (perms & ~deny) | allow
    role_allow = role_deny = 0
    for allow, deny in roles:
        role_allow |= allow
        role_deny |= deny
    perms = (perms & ~role_deny) | role_allow
    if member is not None:
        allow, deny = member
        perms = (perms & ~deny) | allow
    return perms
