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


class Category(msgspec.Struct, frozen=True, kw_only=True):
    """A ticket type: where its channels go and who handles them."""

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


class ArchivedMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message sent in a ticket channel, kept for the transcript."""

    message_id: str
    author_id: str
    author_name: str
    author_bot: bool
    content: str  # encrypted at rest
    created_at: datetime
    edited: bool = False
    deleted: bool = False


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
