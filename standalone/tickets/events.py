"""The parts of gateway event payloads the features use, decoded strictly."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import msgspec

from standalone.discord_bridge import MalformedEvent

# Discord's system message "X pinned a message" (it refers to the pinned message).
CHANNEL_PINNED_MESSAGE = 6


class MessageAuthor(msgspec.Struct, frozen=True):
    """The part of a message author the archive keeps."""

    id: str
    username: str
    global_name: str | None = None
    bot: bool = False


class EmbedField(msgspec.Struct, frozen=True):
    """One field of an embed."""

    name: str = ""
    value: str = ""


class Embed(msgspec.Struct, frozen=True):
    """The text of an embed, which the transcript shows under the message."""

    title: str | None = None
    description: str | None = None
    fields: list[EmbedField] = []

    def text(self) -> str:
        """The embed as plain lines."""
        lines = [part for part in (self.title, self.description) if part]
        lines += [f"{field.name}: {field.value}" for field in self.fields]
        return "\n".join(lines)


class Attachment(msgspec.Struct, frozen=True):
    """A file attached to a message; the archive keeps its name and address."""

    id: str
    filename: str
    url: str = ""


class MessageMember(msgspec.Struct, frozen=True):
    """The author's membership, sent with guild messages: whether they are staff."""

    roles: list[str] = []


def message_text(content: str, embeds: list[Embed], attachments: list[Attachment]) -> str:
    """Content, embeds and attachments, as the transcript shows them."""
    parts = [content, *(e.text() for e in embeds)]
    parts += [f"[attachment: {a.filename}] {a.url}".strip() for a in attachments]
    return "\n".join(part for part in parts if part)


class MessageReference(msgspec.Struct, frozen=True):
    """What a message refers to (for a pin notice, the pinned message)."""

    message_id: str | None = None


class MessageEvent(msgspec.Struct, frozen=True):
    """The part of a MESSAGE_CREATE payload the archive keeps."""

    id: str
    channel_id: str
    author: MessageAuthor
    timestamp: datetime
    content: str = ""
    guild_id: str | None = None
    embeds: list[Embed] = []
    attachments: list[Attachment] = []
    type: int = 0
    member: MessageMember | None = None
    webhook_id: str | None = None
    message_reference: MessageReference | None = None

    def text(self) -> str:
        """Content, embeds and attachments, as the transcript shows them."""
        return message_text(self.content, self.embeds, self.attachments)


class MessageUpdate(msgspec.Struct, frozen=True):
    """MESSAGE_UPDATE: Discord may send a partial message (only what changed)."""

    id: str
    channel_id: str
    content: str | None = None
    embeds: list[Embed] | None = None
    attachments: list[Attachment] | None = None
    edited_timestamp: datetime | None = None
    author: MessageAuthor | None = None
    guild_id: str | None = None

    def text(self) -> str | None:
        """The new text, or None when the update carries no content (an embed unfurl)."""
        if self.content is None:
            return None
        return message_text(self.content, self.embeds or [], self.attachments or [])


class MessageDelete(msgspec.Struct, frozen=True):
    """MESSAGE_DELETE."""

    id: str
    channel_id: str
    guild_id: str | None = None


class MessageDeleteBulk(msgspec.Struct, frozen=True):
    """MESSAGE_DELETE_BULK."""

    ids: list[str]
    channel_id: str
    guild_id: str | None = None


class ChannelDelete(msgspec.Struct, frozen=True):
    """CHANNEL_DELETE and THREAD_DELETE: the part used."""

    id: str
    guild_id: str | None = None


class RemovedUser(msgspec.Struct, frozen=True):
    """The user of GUILD_MEMBER_REMOVE."""

    id: str


class MemberRemove(msgspec.Struct, frozen=True):
    """GUILD_MEMBER_REMOVE: someone left or was removed from a guild."""

    guild_id: str
    user: RemovedUser


T = TypeVar("T")


def decode(event: str, data: bytes, kind: type[T]) -> T:
    """Decode an event's data; a payload that does not fit raises MalformedEvent."""
    try:
        return msgspec.json.decode(data, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedEvent(f"malformed {event}: {exc}") from None
