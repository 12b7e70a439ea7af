"""Threads: creation, membership, archiving and locking, with Discord's rules.

A thread is a ``Channel`` of type 10, 11 or 12 whose permissions come from its parent;
a private thread (12) shows only to its members and to those with Manage Threads.
"""

from __future__ import annotations

from . import errors
from . import permissions as perms
from .errors import DiscordError
from .models import Channel, JoinedThread, Message, ThreadMembersChange, ThreadMeta
from .snowflake import now_iso
from .state import PRIVATE_THREAD, PUBLIC_THREAD, TEXT, World

ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
THREAD_ALREADY_CREATED = 160004
THREAD_ARCHIVED = 50083


def create(
    world: World,
    parent: Channel,
    owner_id: int,
    *,
    name: str,
    private: bool,
    message: Message | None = None,
    auto_archive_duration: int = 4320,
    invitable: bool = True,
    rate_limit_per_user: int = 0,
) -> Channel:
    """A new thread in ``parent`` (from ``message`` when given; it then shares its id)."""
    if parent.type not in (TEXT, ANNOUNCEMENT) or parent.guild_id is None:
        raise DiscordError(
            400, errors.WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type"
        )
    if private and (parent.type != TEXT or message is not None):
        raise errors.form_error(["type"], "THREAD_TYPE_INVALID", "Invalid thread type")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise errors.form_error(
            ["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    if auto_archive_duration not in ARCHIVE_DURATIONS:
        raise errors.form_error(
            ["auto_archive_duration"],
            "BASE_TYPE_CHOICES",
            f"Value must be one of {ARCHIVE_DURATIONS}.",
        )
    if message is not None and (
        message.id in world.channels or message.id in world.deleted_channels
    ):
        raise DiscordError(
            400, THREAD_ALREADY_CREATED, "A thread has already been created for this message"
        )
    now = now_iso()
    if message is not None:
        kind = ANNOUNCEMENT_THREAD if parent.type == ANNOUNCEMENT else PUBLIC_THREAD
    else:
        kind = PRIVATE_THREAD if private else PUBLIC_THREAD
    thread = Channel(
        id=message.id if message is not None else world.ids.next(),
        type=kind,
        guild_id=parent.guild_id,
        name=name,
        parent_id=parent.id,
        owner_id=owner_id,
        rate_limit_per_user=rate_limit_per_user,
        thread=ThreadMeta(
            auto_archive_duration=auto_archive_duration,
            archive_timestamp=now,
            create_timestamp=now,
            invitable=invitable if kind == PRIVATE_THREAD else None,
        ),
        thread_members={owner_id: now},
    )
    world.channels[thread.id] = thread
    world.emit("THREAD_CREATE", thread.guild_id, thread)
    world.emit(
        "THREAD_MEMBERS_UPDATE",
        thread.guild_id,
        ThreadMembersChange(thread_id=thread.id, guild_id=parent.guild_id, added=[owner_id]),
    )
    return thread


def add_member(world: World, thread: Channel, user_id: int) -> None:
    assert thread.guild_id is not None
    if user_id in thread.thread_members:
        return
    world.member(thread.guild_id, user_id)  # 10007 for someone not in the guild
    app = world.apps.get(user_id)
    saw_it = app is not None and world.can_view(user_id, thread)
    thread.thread_members[user_id] = now_iso()
    if app is not None and not saw_it:
        # Discord sends THREAD_CREATE to a bot added to a thread it could not see.
        world.emit("THREAD_CREATE", thread.guild_id, JoinedThread(thread=thread), app.id)
    world.emit(
        "THREAD_MEMBERS_UPDATE",
        thread.guild_id,
        ThreadMembersChange(thread_id=thread.id, guild_id=thread.guild_id, added=[user_id]),
    )


def remove_member(world: World, thread: Channel, user_id: int) -> None:
    assert thread.guild_id is not None
    if thread.thread_members.pop(user_id, None) is None:
        raise errors.not_found(errors.UNKNOWN_MEMBER, "Member")
    world.emit(
        "THREAD_MEMBERS_UPDATE",
        thread.guild_id,
        ThreadMembersChange(thread_id=thread.id, guild_id=thread.guild_id, removed=[user_id]),
    )


def can_moderate(world: World, user_id: int, thread: Channel) -> bool:
    assert thread.guild_id is not None
    return bool(world.permissions(thread.guild_id, user_id, thread.id) & perms.MANAGE_THREADS)


def before_message(world: World, thread: Channel, author_id: int) -> None:
    """Posting reopens an archived thread and joins the author, unless the thread is locked."""
    meta = thread.thread
    assert meta is not None
    if meta.locked and not can_moderate(world, author_id, thread):
        if meta.archived:
            raise DiscordError(400, THREAD_ARCHIVED, "Thread is archived")
        raise errors.missing_permissions()
    if meta.archived:
        update(world, thread, archived=False)
    if author_id not in thread.thread_members and thread.guild_id is not None:
        add_member(world, thread, author_id)


def update(
    world: World,
    thread: Channel,
    *,
    name: str | None = None,
    archived: bool | None = None,
    locked: bool | None = None,
    auto_archive_duration: int | None = None,
    invitable: bool | None = None,
    rate_limit_per_user: int | None = None,
) -> None:
    """Apply a thread edit (already permitted) and announce THREAD_UPDATE."""
    meta = thread.thread
    assert meta is not None
    if name is not None:
        if not 1 <= len(name.strip()) <= 100:
            raise errors.form_error(
                ["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        thread.name = name
    if auto_archive_duration is not None:
        if auto_archive_duration not in ARCHIVE_DURATIONS:
            raise errors.form_error(
                ["auto_archive_duration"],
                "BASE_TYPE_CHOICES",
                f"Value must be one of {ARCHIVE_DURATIONS}.",
            )
        meta.auto_archive_duration = auto_archive_duration
    if archived is not None and archived != meta.archived:
        meta.archived = archived
        meta.archive_timestamp = now_iso()
    if locked is not None:
        meta.locked = locked
    if invitable is not None and thread.type == PRIVATE_THREAD:
        meta.invitable = invitable
    if rate_limit_per_user is not None:
        thread.rate_limit_per_user = rate_limit_per_user
    world.emit("THREAD_UPDATE", thread.guild_id, thread)
