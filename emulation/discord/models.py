"""The records the stand-in keeps: plain mutable state, rendered to JSON by ``payloads``.

Ids are ints here and strings on the wire, as in Discord.
"""

from __future__ import annotations

from typing import Any

import msgspec

JSON = dict[str, Any]


class User(msgspec.Struct, kw_only=True):
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    # False makes DMs to this user fail with 50007, like a user who closed their DMs.
    accepts_dms: bool = True
    # The language of the user's Discord client, sent as each interaction's ``locale``.
    locale: str = "en-US"


class App(msgspec.Struct, kw_only=True):
    id: int
    name: str
    token: str
    bot_user: User
    owner_id: int
    shard_count: int = 1
    flags: int = 0
    # Privileged intents the portal would allow (members, presences, message content).
    allowed_intents: int = (1 << 1) | (1 << 8) | (1 << 15)
    # GET /gateway/bot's session_start_limit; IdentifyLimits spends and refills it.
    session_start_total: int = 1000
    session_starts_remaining: int = 1000
    session_start_reset_ms: int = 86_400_000
    max_concurrency: int = 1
    # Set: interactions are POSTed here, signed, instead of going over the gateway.
    interactions_endpoint_url: str | None = None
    # Ed25519 key pair: the public half is the application's ``verify_key`` (hex).
    verify_key: str = ""
    signing_key: bytes = b""


class Role(msgspec.Struct, kw_only=True):
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    # Set on the role Discord creates for a bot when it joins.
    bot_id: int | None = None


class Member(msgspec.Struct, kw_only=True):
    guild_id: int
    user_id: int
    roles: list[int] = msgspec.field(default_factory=list)
    joined_at: str = ""
    nick: str | None = None
    # ISO time until which the member is timed out (cannot talk or react), or None.
    communication_disabled_until: str | None = None


class Guild(msgspec.Struct, kw_only=True):
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = msgspec.field(default_factory=dict)
    members: dict[int, Member] = msgspec.field(default_factory=dict)
    channel_ids: list[int] = msgspec.field(default_factory=list)
    app_ids: set[int] = msgspec.field(default_factory=set)
    locale: str = "en-US"


class Overwrite(msgspec.Struct, kw_only=True):
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0


class ThreadMeta(msgspec.Struct, kw_only=True):
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 4320
    archive_timestamp: str = ""
    create_timestamp: str = ""
    # Private threads only: whether non-moderators may add others.
    invitable: bool | None = None


class Channel(msgspec.Struct, kw_only=True):
    id: int
    type: int
    guild_id: int | None = None
    name: str | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    bitrate: int = 64000
    user_limit: int = 0
    permission_overwrites: list[Overwrite] = msgspec.field(default_factory=list)
    recipient_ids: list[int] = msgspec.field(default_factory=list)
    message_ids: list[int] = msgspec.field(default_factory=list)
    last_message_id: int | None = None
    last_pin_timestamp: str | None = None
    # Threads (types 10, 11, 12): who started it, who is in it (user id -> join time).
    owner_id: int | None = None
    thread: ThreadMeta | None = None
    thread_members: dict[int, str] = msgspec.field(default_factory=dict)
    message_count: int = 0
    total_message_sent: int = 0


class Attachment(msgspec.Struct, kw_only=True):
    id: int
    filename: str
    size: int
    content_type: str | None = None
    description: str | None = None
    data: bytes = b""


class Message(msgspec.Struct, kw_only=True):
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[JSON] = msgspec.field(default_factory=list)
    components: list[JSON] = msgspec.field(default_factory=list)
    attachments: list[Attachment] = msgspec.field(default_factory=list)
    allowed_mentions: JSON | None = None
    mention_user_ids: list[int] = msgspec.field(default_factory=list)
    mention_role_ids: list[int] = msgspec.field(default_factory=list)
    mention_everyone: bool = False
    type: int = 0
    flags: int = 0
    tts: bool = False
    timestamp: str = ""
    edited_timestamp: str | None = None
    pinned_at: str | None = None
    reference: JSON | None = None
    application_id: int | None = None
    webhook_id: int | None = None
    interaction_id: int | None = None
    # Ephemeral messages belong to an interaction and never appear in the channel.
    ephemeral: bool = False


class Command(msgspec.Struct, kw_only=True):
    id: int
    application_id: int
    guild_id: int | None
    name: str
    type: int
    version: int
    body: JSON


class Interaction(msgspec.Struct, kw_only=True):
    id: int
    token: str
    application_id: int
    type: int
    user_id: int
    guild_id: int | None
    channel_id: int
    payload: JSON
    # The message a component or modal interaction came from (type 7 edits it).
    source_message_id: int | None = None
    callback: JSON | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = msgspec.field(default_factory=list)


class BulkDelete(msgspec.Struct, kw_only=True):
    """Messages removed at once (MESSAGE_DELETE_BULK)."""

    channel_id: int
    guild_id: int | None
    ids: list[int]


class ThreadMembersChange(msgspec.Struct, kw_only=True):
    """Who joined or left a thread (THREAD_MEMBERS_UPDATE)."""

    thread_id: int
    guild_id: int
    added: list[int] = msgspec.field(default_factory=list)
    removed: list[int] = msgspec.field(default_factory=list)


class MemberLeft(msgspec.Struct, kw_only=True):
    """A member who left or was removed (GUILD_MEMBER_REMOVE)."""

    guild_id: int
    user_id: int


class PresenceChange(msgspec.Struct, kw_only=True):
    """A user's status changed, as seen in one guild (PRESENCE_UPDATE)."""

    guild_id: int
    user_id: int
    status: str


class JoinedThread(msgspec.Struct, kw_only=True):
    """A bot added to a thread it could not see: THREAD_CREATE for that bot alone."""

    thread: Channel
