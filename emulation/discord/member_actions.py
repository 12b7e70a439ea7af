"""What a member does outside interactions: messages, edits, deletes, DMs and threads.

Each action is checked as the Discord client would check it (``ActorError`` when the
client would not let the member do it) and then changes the world, which announces
it to the bots that may see it.
"""

from __future__ import annotations

from typing import Any

from . import permissions as perms
from . import threads
from .bodies import EPHEMERAL
from .errors import DiscordError
from .models import JSON, Channel, Message
from .state import CATEGORY, DM, TEXT, THREAD_TYPES, World


class ActorError(ValueError):
    """The member tried something the Discord client would not let them do."""


def id_of(value: Any) -> int:
    return int(getattr(value, "id", value))


class MemberActions:
    """Plain member actions; ``Actor`` adds interactions on top."""

    _world: World
    app_id: int
    guild_id: int
    user_id: int

    async def send_message(
        self, channel_id: int, content: str = "", *, embeds: list[JSON] | None = None
    ) -> Message:
        """Post in a channel or thread; posting in an archived (unlocked) thread reopens it."""
        channel = self._channel(channel_id)
        if not self._may_send(channel):
            raise ActorError(f"user {self.user_id} cannot send messages in channel {channel_id}")
        if len(content) > 2000:
            raise ActorError("a message is at most 2000 characters")
        if channel.thread is not None:
            try:
                threads.before_message(self._world, channel, self.user_id)
            except DiscordError as exc:
                raise ActorError(f"cannot post in thread {channel_id}: {exc.message}") from None
        return self._world.create_message(
            channel, self.user_id, content=content, embeds=embeds or []
        )

    async def edit_message(self, channel_id: int, message_id: int, content: str) -> Message:
        """Edit one's own message (MESSAGE_UPDATE)."""
        channel = self._channel(channel_id)
        message = self._visible_message(channel, message_id)
        if message.author_id != self.user_id:
            raise ActorError(f"message {message_id} was written by someone else")
        if not content and not message.embeds and not message.attachments:
            raise ActorError("an edit may not leave the message empty")
        if len(content) > 2000:
            raise ActorError("a message is at most 2000 characters")
        return self._world.edit_message(message, {"content": content})

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete one's own message, or anyone's with Manage Messages (MESSAGE_DELETE)."""
        channel = self._channel(channel_id)
        message = self._visible_message(channel, message_id)
        have = self._world.permissions(self.guild_id, self.user_id, channel.id)
        if message.author_id != self.user_id and not have & perms.MANAGE_MESSAGES:
            raise ActorError(f"user {self.user_id} may not delete message {message_id}")
        self._world.delete_message(message)

    async def send_dm(self, bot: Any, content: str) -> Message:
        """Write to a bot (its app id, bot user id or record) in a DM; no guild is involved."""
        world = self._world
        bot_user_id = id_of(getattr(bot, "bot_user", bot))
        user = world.users.get(bot_user_id)
        if user is None or not user.bot:
            raise ActorError(f"{bot_user_id} is not a bot user")
        shares_guild = any(
            self.user_id in g.members and bot_user_id in g.members for g in world.guilds.values()
        )
        if not shares_guild:
            raise ActorError(f"user {self.user_id} shares no guild with bot {bot_user_id}")
        if not content or len(content) > 2000:
            raise ActorError("a DM needs 1 to 2000 characters")
        channel = world.dm_channel(bot_user_id, self.user_id)
        return world.create_message(channel, self.user_id, content=content)

    # -- threads --------------------------------------------------------------------------

    async def create_thread(
        self, channel_id: int, name: str, *, private: bool = False, message_id: int | None = None
    ) -> Channel:
        """Start a thread in a text channel, from a message or (when ``private``) on its own."""
        parent = self._channel(channel_id)
        needed = perms.CREATE_PRIVATE_THREADS if private else perms.CREATE_PUBLIC_THREADS
        have = self._world.permissions(self.guild_id, self.user_id, parent.id)
        if not self._world.can_view(self.user_id, parent) or have & needed != needed:
            raise ActorError(f"user {self.user_id} may not create threads in {channel_id}")
        message = None if message_id is None else self._visible_message(parent, message_id)
        try:
            return threads.create(
                self._world,
                parent,
                self.user_id,
                name=name,
                private=private,
                message=message,
            )
        except DiscordError as exc:
            raise ActorError(
                f"cannot create the thread: {exc.message} {exc.errors or ''}"
            ) from None

    async def join_thread(self, thread_id: int) -> None:
        thread = self._channel(thread_id)
        if thread.type not in THREAD_TYPES or not self._world.can_view(self.user_id, thread):
            raise ActorError(f"user {self.user_id} cannot see thread {thread_id}")
        threads.add_member(self._world, thread, self.user_id)

    async def leave_thread(self, thread_id: int) -> None:
        thread = self._channel(thread_id)
        if thread.type not in THREAD_TYPES or self.user_id not in thread.thread_members:
            raise ActorError(f"user {self.user_id} is not in thread {thread_id}")
        threads.remove_member(self._world, thread, self.user_id)

    # -- building blocks ------------------------------------------------------------------

    def _channel(self, channel_id: int | None) -> Channel:
        if channel_id is None:
            for channel in self._world.guild_channels(self.guild_id):
                if channel.type == TEXT:
                    return channel
            raise ActorError(f"guild {self.guild_id} has no text channel to act in")
        found = self._world.channels.get(channel_id)
        if found is None or found.guild_id != self.guild_id or found.type in (CATEGORY, DM):
            raise ActorError(f"channel {channel_id} is not a text channel of guild {self.guild_id}")
        return found

    def _may_send(self, channel: Channel) -> bool:
        world = self._world
        if not world.can_view(self.user_id, channel):
            return False
        have = world.permissions(self.guild_id, self.user_id, channel.id)
        if channel.type in THREAD_TYPES:
            meta = channel.thread
            if meta is not None and meta.locked and not have & perms.MANAGE_THREADS:
                return False
            return bool(have & perms.SEND_MESSAGES_IN_THREADS)
        return bool(have & perms.SEND_MESSAGES)

    def _visible_message(self, channel: Channel, message_id: int) -> Message:
        if not self._world.can_view(self.user_id, channel):
            raise ActorError(f"user {self.user_id} cannot see channel {channel.id}")
        message = self._world.messages.get(message_id)
        if (
            message is None
            or message.channel_id != channel.id
            or message.ephemeral
            or message.flags & EPHEMERAL
        ):
            raise ActorError(f"message {message_id} is not in channel {channel.id}")
        return message
