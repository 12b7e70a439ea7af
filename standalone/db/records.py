"""Typed views of database rows, as the domain code sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import msgspec


class Tenant(msgspec.Struct, frozen=True, kw_only=True):
    """One Discord application served by this deployment."""

    name: str
    application_id: str
    token: str  # encrypted at rest; decrypt with the deployment's Cipher
    created_at: datetime
    oauth_secret: str | None = None  # the OAuth2 client secret, encrypted at rest


class GuildSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Server-wide settings; categories may override the timing and archive ones."""

    guild_id: str
    locale: str = "en-GB"
    archive: bool = True
    claim_button: bool = True
    close_button: bool = True
    blocked_roles: list[str] = []
    colour: int = 0x5865F2
    auto_close_ms: int | None = 12 * 3600 * 1000
    stale_after_ms: int | None = None
    log_channel: str | None = None
    footer: str | None = None
    working_hours: str | None = None  # standalone/tickets/hours.py; None: always working
    # Where tags with a pattern answer messages: ticket channels, and these channels.
    auto_tag_tickets: bool = True
    auto_tag_channels: list[str] = []


class Category(msgspec.Struct, frozen=True, kw_only=True):
    """A ticket type: where its tickets go, who handles them, and its rules."""

    key: str
    guild_id: str
    name: str
    staff_roles: list[str]
    channel_name: str
    opening_message: str
    member_limit: int
    # SurrealDB leaves NONE fields out of rows, so optional fields need defaults.
    discord_category: str | None = None
    interaction_id: str | None = None
    description: str | None = None
    emoji: str | None = None
    image: str | None = None
    mode: str = "channel"  # or "thread": private threads in ``thread_channel``
    thread_channel: str | None = None
    ping_roles: list[str] = []
    required_roles: list[str] = []
    blocked_roles: list[str] = []
    claiming: bool = True
    feedback: bool = False
    total_limit: int = 50
    cooldown_ms: int | None = None
    slowmode_s: int | None = None
    require_topic: bool = True
    custom_topic: str | None = None  # key of the question whose answer is the topic
    auto_close_ms: int | None = None  # None: the guild's setting
    stale_after_ms: int | None = None
    archive: bool | None = None
    position: int = 0
    working_hours: str | None = None  # None: the guild's


class Question(msgspec.Struct, frozen=True, kw_only=True):
    """One field of a category's opening form: free text or a choice from a menu."""

    key: str
    category: str
    label: str
    position: int = 0
    kind: str = "text"  # or "select"
    style: int = 1  # 1 short, 2 paragraph
    placeholder: str | None = None
    value: str | None = None
    required: bool = True
    min_length: int = 0
    max_length: int = 1000
    options: list[str] = []


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """A member's answer to a question; ``value`` is encrypted at rest."""

    question: str
    label: str
    value: str
    position: int = 0
    updated_at: datetime | None = None


class CloseRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A pending request to close, waiting for the other side to accept."""

    requested_by: str
    expect: str  # "staff" or "creator": who must answer
    at: datetime
    reason: str | None = None  # encrypted at rest
    message_id: str | None = None
    interaction_id: str | None = None  # the request's own, so a redelivery finds it


class Timer(msgspec.Struct, frozen=True, kw_only=True):
    """A due-time job kept in the database so a restart loses none."""

    guild_id: str
    number: int
    kind: str  # "stale", "auto_close" or "close_request"
    due_at: datetime


class Ticket(msgspec.Struct, frozen=True, kw_only=True):
    """One ticket, from the click that opened it to its transcript."""

    guild_id: str
    number: int
    category: str
    creator_id: str
    state: str
    interaction_id: str
    created_at: datetime
    topic: str | None = None  # encrypted at rest
    channel_id: str | None = None
    # Set before Discord is asked for the channel: only then can one exist unrecorded.
    channel_requested: bool = False
    opening_message_id: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    transcript_key: str | None = None
    message_count: int = 0
    thread: bool = False
    claimed_by: str | None = None
    priority: str | None = None
    added_members: list[str] = []
    last_message_at: datetime | None = None
    last_author_staff: bool | None = None
    first_response_at: datetime | None = None
    references_ticket: int | None = None
    references_message: str | None = None
    pinned_message_ids: list[str] = []
    close_request: CloseRequest | None = None
    stale_message_id: str | None = None
    reopened: int = 0
    first_responder: str | None = None  # the staff member whose message was the first response


class ArchivedMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message sent in a ticket channel, kept for the transcript."""

    message_id: str
    author_id: str
    author_name: str  # encrypted at rest (plain text in rows of older versions)
    author_bot: bool
    content: str  # encrypted at rest
    created_at: datetime
    edited: bool = False
    deleted: bool = False
    external: bool = False
    edits: list[dict[str, Any]] = []  # earlier versions: {"content": encrypted, "at": datetime}


def record_key(value: Any) -> str:
    """The key part of a SurrealDB record id, as a string."""
    return str(getattr(value, "id", value))


T = TypeVar("T")


def to_struct(row: dict[str, Any], kind: type[T], **extra: Any) -> T:
    """Convert a row, dropping SurrealDB's own fields the struct does not know."""
    fields = set(getattr(kind, "__struct_fields__", ()))
    data = {k: v for k, v in row.items() if k in fields}
    data.update(extra)
    return msgspec.convert(data, kind, from_attributes=False)
