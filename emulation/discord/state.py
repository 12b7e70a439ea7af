"""The in-memory world: who exists, who sees what, and what each member may do.

State changes are announced to listeners as (event name, guild id, record); the
gateway renders and delivers them, so this module knows nothing about JSON or sockets.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from . import errors, permissions
from .errors import DiscordError
from .models import (
    JSON,
    App,
    Attachment,
    BulkDelete,
    Channel,
    Command,
    Guild,
    Interaction,
    Member,
    Message,
    Overwrite,
    PresenceChange,
    Role,
    User,
)
from .signing import new_key_pair
from .snowflake import SnowflakeFactory, now_iso, snowflake_iso, snowflake_ms

# (event, guild id, record, single target app or None for everyone concerned)
Listener = Callable[[str, int | None, Any, int | None], None]

TEXT = 0
DM = 1
VOICE = 2
CATEGORY = 4
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = frozenset({10, PUBLIC_THREAD, PRIVATE_THREAD})
GUILD_CHANNEL_TYPES = frozenset({0, 2, 4, 5, 13, 15})
INTERACTION_TOKEN_TTL_MS = 15 * 60 * 1000

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def _timed_out(member: Member) -> bool:
    until = member.communication_disabled_until
    return until is not None and datetime.fromisoformat(until) > datetime.now(UTC)


def normalize_channel_name(name: str, channel_type: int) -> str:
    """Text-like channels are lowercased with dashes for spaces, as the client shows them."""
    if channel_type in (TEXT, 5, 15):
        name = re.sub(r"[\s-]+", "-", name.strip().lower())
    return name


class World:
    """Every guild, channel, member, message, command and interaction of one fake Discord."""

    def __init__(self) -> None:
        self.ids = SnowflakeFactory()
        self.apps: dict[int, App] = {}
        self.apps_by_token: dict[str, App] = {}
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.deleted_channels: set[int] = set()
        self.messages: dict[int, Message] = {}
        self.commands: dict[int, Command] = {}
        self.interactions: dict[int, Interaction] = {}
        self._interactions_by_token: dict[str, Interaction] = {}
        self._dm_channels: dict[tuple[int, int], int] = {}
        # User id -> online, idle, dnd (absent: offline); see set_presence.
        self.presences: dict[int, str] = {}
        self._listeners: list[Listener] = []
        # Where attachment URLs point; the server sets it once it knows its port.
        self.base_url = "http://127.0.0.1"
        self._changed = asyncio.Event()

    # -- change notification --------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(
        self, event: str, guild_id: int | None, record: Any, app_id: int | None = None
    ) -> None:
        for listener in self._listeners:
            listener(event, guild_id, record, app_id)
        self.touch()

    def touch(self) -> None:
        """Wake everyone waiting in ``wait_until``; they re-check their condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                # Take the event before checking, so a change in between is not missed.
                changed = self._changed
                if condition():
                    return
                await changed.wait()

    # -- creation (what a test sets up) ---------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False, global_name: str | None = None) -> User:
        user = User(id=self.ids.next(), username=username, bot=bot, global_name=global_name)
        self.users[user.id] = user
        return user

    def add_application(self, name: str, *, shard_count: int = 1) -> App:
        owner = self.add_user(f"{name.lower().replace(' ', '')}-owner")
        bot_user = self.add_user(name, bot=True)
        # A real bot token starts with the base64 of the bot's id; the rest is secret.
        prefix = base64.b64encode(str(bot_user.id).encode()).decode().rstrip("=")
        token = f"{prefix}.{secrets.token_urlsafe(6)}.{secrets.token_urlsafe(27)}"
        app = App(
            id=bot_user.id,
            name=name,
            token=token,
            bot_user=bot_user,
            owner_id=owner.id,
            shard_count=shard_count,
        )
        app.signing_key, app.verify_key = new_key_pair()
        self.apps[app.id] = app
        self.apps_by_token[token] = app
        return app

    def reset_token(self, app: App) -> str:
        """Discord resets a token that started too many sessions: the old one stops working."""
        del self.apps_by_token[app.token]
        prefix = app.token.split(".", 1)[0]
        app.token = f"{prefix}.{secrets.token_urlsafe(6)}.{secrets.token_urlsafe(27)}"
        self.apps_by_token[app.token] = app
        return app.token

    def add_guild(self, name: str, *, owner_name: str = "owner") -> Guild:
        owner = self.add_user(owner_name)
        guild = Guild(id=self.ids.next(), name=name, owner_id=owner.id)
        # @everyone shares the guild's id, which overwrites and clients rely on.
        guild.roles[guild.id] = Role(
            id=guild.id,
            guild_id=guild.id,
            name="@everyone",
            permissions=permissions.DEFAULT_EVERYONE,
        )
        self.guilds[guild.id] = guild
        guild.members[owner.id] = Member(guild_id=guild.id, user_id=owner.id, joined_at=now_iso())
        return guild

    def add_role(
        self,
        guild_id: int,
        name: str,
        *,
        permissions: int = 0,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
        bot_id: int | None = None,
    ) -> Role:
        guild = self.guild(guild_id)
        role = Role(
            id=self.ids.next(),
            guild_id=guild_id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            color=color,
            hoist=hoist,
            mentionable=mentionable,
            managed=bot_id is not None,
            bot_id=bot_id,
        )
        guild.roles[role.id] = role
        self.emit("GUILD_ROLE_CREATE", guild_id, role)
        return role

    def add_member(self, guild_id: int, user_id: int, roles: Iterable[int] = ()) -> Member:
        guild = self.guild(guild_id)
        role_ids = list(roles)
        for role_id in role_ids:
            if role_id not in guild.roles:
                raise KeyError(f"role {role_id} is not in guild {guild_id}")
        member = Member(guild_id=guild_id, user_id=user_id, roles=role_ids, joined_at=now_iso())
        guild.members[user_id] = member
        self.emit("GUILD_MEMBER_ADD", guild_id, member)
        return member

    def set_presence(self, user_id: int, status: str) -> None:
        """The user comes online, goes idle or dnd, or goes offline: PRESENCE_UPDATE in
        every guild they are in (heard only by bots with the GUILD_PRESENCES intent)."""
        if status not in {"online", "idle", "dnd", "offline"}:
            raise ValueError(f"unknown status {status!r}")
        if status == "offline":
            self.presences.pop(user_id, None)
        else:
            self.presences[user_id] = status
        for guild in self.guilds.values():
            if user_id in guild.members:
                change = PresenceChange(guild_id=guild.id, user_id=user_id, status=status)
                self.emit("PRESENCE_UPDATE", guild.id, change)

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: int = TEXT,
        parent_id: int | None = None,
        topic: str | None = None,
        position: int | None = None,
        overwrites: Iterable[Overwrite] = (),
        rate_limit_per_user: int = 0,
        nsfw: bool = False,
    ) -> Channel:
        guild = self.guild(guild_id)
        if parent_id is not None:
            parent = self.channels.get(parent_id)
            if parent is None or parent.guild_id != guild_id or parent.type != CATEGORY:
                raise errors.form_error(["parent_id"], "CHANNEL_PARENT_INVALID", "Invalid parent")
        siblings = [self.channels[c] for c in guild.channel_ids]
        channel = Channel(
            id=self.ids.next(),
            type=type,
            guild_id=guild_id,
            name=normalize_channel_name(name, type),
            position=position if position is not None else len(siblings),
            parent_id=parent_id,
            topic=topic,
            nsfw=nsfw,
            rate_limit_per_user=rate_limit_per_user,
            permission_overwrites=list(overwrites),
        )
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        self.emit("CHANNEL_CREATE", guild_id, channel)
        return channel

    def install(self, app_id: int, guild_id: int, permissions_value: int) -> Member:
        """The bot joins: a member plus the managed role Discord creates from the invite."""
        app = self.apps[app_id]
        guild = self.guild(guild_id)
        if app_id in guild.app_ids:
            return guild.members[app.bot_user.id]
        role = Role(
            id=self.ids.next(),
            guild_id=guild_id,
            name=app.name,
            permissions=permissions_value,
            position=len(guild.roles),
            managed=True,
            bot_id=app.bot_user.id,
        )
        guild.roles[role.id] = role
        member = Member(
            guild_id=guild_id, user_id=app.bot_user.id, roles=[role.id], joined_at=now_iso()
        )
        guild.members[app.bot_user.id] = member
        guild.app_ids.add(app_id)
        self.emit("GUILD_CREATE", guild_id, guild, app_id)
        # Apps already in the guild see a new member and its role.
        for other in guild.app_ids - {app_id}:
            self.emit("GUILD_ROLE_CREATE", guild_id, role, other)
            self.emit("GUILD_MEMBER_ADD", guild_id, member, other)
        return member

    # -- lookups --------------------------------------------------------------------------

    def guild(self, guild_id: int) -> Guild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise errors.not_found(errors.UNKNOWN_GUILD, "Guild")
        return guild

    def visible_guild(self, app: App, guild_id: int) -> Guild:
        """A guild the app is in; any other looks like it does not exist (tenant isolation)."""
        guild = self.guilds.get(guild_id)
        if guild is None or app.id not in guild.app_ids:
            raise errors.not_found(errors.UNKNOWN_GUILD, "Guild")
        return guild

    def visible_channel(self, app: App, channel_id: int) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise errors.not_found(errors.UNKNOWN_CHANNEL, "Channel")
        if channel.guild_id is not None:
            guild = self.guilds.get(channel.guild_id)
            if guild is None or app.id not in guild.app_ids:
                raise errors.not_found(errors.UNKNOWN_CHANNEL, "Channel")
        elif app.bot_user.id not in channel.recipient_ids:
            raise errors.not_found(errors.UNKNOWN_CHANNEL, "Channel")
        return channel

    def member(self, guild_id: int, user_id: int) -> Member:
        member = self.guild(guild_id).members.get(user_id)
        if member is None:
            raise errors.not_found(errors.UNKNOWN_MEMBER, "Member")
        return member

    def guild_channels(self, guild_id: int) -> list[Channel]:
        return [self.channels[c] for c in self.guild(guild_id).channel_ids]

    def channel_messages(self, channel_id: int) -> list[Message]:
        channel = self.channels.get(channel_id)
        if channel is None:
            return []
        return [self.messages[m] for m in channel.message_ids]

    def message_in(self, channel: Channel, message_id: int) -> Message:
        message = self.messages.get(message_id)
        if message is None or message.channel_id != channel.id or message.ephemeral:
            raise errors.not_found(errors.UNKNOWN_MESSAGE, "Message")
        return message

    # -- permissions ----------------------------------------------------------------------

    def permissions(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        have = self._permissions(guild_id, user_id, channel_id)
        member = self.guild(guild_id).members.get(user_id)
        if have != permissions.ALL and member is not None and _timed_out(member):
            # A timed-out member keeps only reading, whatever the overwrites say.
            have &= permissions.VIEW_CHANNEL | permissions.READ_MESSAGE_HISTORY
        return have

    def _permissions(self, guild_id: int, user_id: int, channel_id: int | None) -> int:
        guild = self.guild(guild_id)
        member = guild.members.get(user_id)
        if member is None:
            return 0
        base = permissions.base_permissions(
            everyone=guild.roles[guild.id].permissions,
            role_permissions=(guild.roles[r].permissions for r in member.roles if r in guild.roles),
            is_owner=user_id == guild.owner_id,
        )
        if channel_id is None:
            return base
        channel = self.channels.get(channel_id)
        if channel is not None and channel.type in THREAD_TYPES and channel.parent_id is not None:
            # A thread has no overwrites of its own: its parent's apply.
            channel = self.channels.get(channel.parent_id)
        if channel is None or channel.guild_id != guild_id:
            return base
        by_target = {(o.type, o.id): (o.allow, o.deny) for o in channel.permission_overwrites}
        return permissions.apply_overwrites(
            base,
            everyone=by_target.get((permissions.OVERWRITE_ROLE, guild.id)),
            roles=[
                by_target[(permissions.OVERWRITE_ROLE, r)]
                for r in member.roles
                if (permissions.OVERWRITE_ROLE, r) in by_target
            ],
            member=by_target.get((permissions.OVERWRITE_MEMBER, user_id)),
        )

    def can_view(self, user_id: int, channel: Channel) -> bool:
        """Whether the channel shows for this user; private threads only to their members."""
        if channel.guild_id is None:
            return user_id in channel.recipient_ids
        have = self.permissions(channel.guild_id, user_id, channel.id)
        if not have & permissions.VIEW_CHANNEL:
            return False
        if channel.type == PRIVATE_THREAD:
            return user_id in channel.thread_members or bool(have & permissions.MANAGE_THREADS)
        return True

    def require(self, user_id: int, channel: Channel, needed: int) -> None:
        """Raise Discord's 403 unless ``user_id`` holds every bit of ``needed`` in ``channel``.

        In a thread, Send Messages means Send Messages in Threads, as on Discord.
        """
        if channel.guild_id is None:
            return
        if not self.can_view(user_id, channel):
            raise errors.missing_access()
        if channel.type in THREAD_TYPES and needed & permissions.SEND_MESSAGES:
            needed = (needed & ~permissions.SEND_MESSAGES) | permissions.SEND_MESSAGES_IN_THREADS
        have = self.permissions(channel.guild_id, user_id, channel.id)
        if have & needed != needed:
            raise errors.missing_permissions()

    def require_guild(self, user_id: int, guild_id: int, needed: int) -> None:
        if self.permissions(guild_id, user_id) & needed != needed:
            raise errors.missing_permissions()

    # -- channels -------------------------------------------------------------------------

    def threads(self, guild_id: int, parent_id: int | None = None) -> list[Channel]:
        """Threads of a guild (or of one parent channel), oldest first."""
        return [
            c
            for c in self.channels.values()
            if c.type in THREAD_TYPES
            and c.guild_id == guild_id
            and (parent_id is None or c.parent_id == parent_id)
        ]

    def delete_channel(self, channel: Channel) -> None:
        if channel.guild_id is not None and channel.type not in THREAD_TYPES:
            # Threads go with their parent.
            for thread in self.threads(channel.guild_id, channel.id):
                self.delete_channel(thread)
        self.channels.pop(channel.id, None)
        self.deleted_channels.add(channel.id)
        if channel.guild_id is not None and channel.type in THREAD_TYPES:
            self.emit("THREAD_DELETE", channel.guild_id, channel)
            return
        if channel.guild_id is not None:
            guild = self.guilds[channel.guild_id]
            guild.channel_ids.remove(channel.id)
            # Discord keeps children of a deleted category, now without a parent.
            for child_id in guild.channel_ids:
                child = self.channels[child_id]
                if child.parent_id == channel.id:
                    child.parent_id = None
        self.emit("CHANNEL_DELETE", channel.guild_id, channel)

    def set_overwrite(self, channel: Channel, overwrite: Overwrite) -> None:
        channel.permission_overwrites = [
            o for o in channel.permission_overwrites if o.id != overwrite.id
        ] + [overwrite]
        self.emit("CHANNEL_UPDATE", channel.guild_id, channel)

    def find_dm(self, bot_user_id: int, user_id: int) -> Channel | None:
        found = self._dm_channels.get((bot_user_id, user_id))
        return self.channels.get(found) if found is not None else None

    def dm_channel(self, bot_user_id: int, user_id: int) -> Channel:
        key = (bot_user_id, user_id)
        existing = self._dm_channels.get(key)
        if existing is not None and existing in self.channels:
            return self.channels[existing]
        channel = Channel(id=self.ids.next(), type=DM, recipient_ids=[user_id, bot_user_id])
        self.channels[channel.id] = channel
        self._dm_channels[key] = channel.id
        return channel

    # -- messages -------------------------------------------------------------------------

    def create_message(
        self,
        channel: Channel,
        author_id: int,
        *,
        content: str = "",
        embeds: list[JSON] | None = None,
        components: list[JSON] | None = None,
        attachments: list[Attachment] | None = None,
        allowed_mentions: JSON | None = None,
        flags: int = 0,
        tts: bool = False,
        reference: JSON | None = None,
        message_type: int = 0,
        application_id: int | None = None,
        webhook_id: int | None = None,
        interaction_id: int | None = None,
        ephemeral: bool = False,
    ) -> Message:
        message = Message(
            id=self.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            embeds=embeds or [],
            components=components or [],
            attachments=attachments or [],
            allowed_mentions=allowed_mentions,
            flags=flags,
            tts=tts,
            reference=reference,
            type=message_type,
            application_id=application_id,
            webhook_id=webhook_id,
            interaction_id=interaction_id,
            ephemeral=ephemeral,
        )
        message.timestamp = snowflake_iso(message.id)
        self._resolve_mentions(message)
        self.messages[message.id] = message
        if not ephemeral:
            channel.message_ids.append(message.id)
            channel.last_message_id = message.id
            if channel.type in THREAD_TYPES:
                channel.message_count += 1
                channel.total_message_sent += 1
            self.emit("MESSAGE_CREATE", channel.guild_id, message)
        else:
            self.touch()
        return message

    def edit_message(self, message: Message, changes: dict[str, Any]) -> Message:
        for key, value in changes.items():
            setattr(message, key, value)
        message.edited_timestamp = now_iso()
        self._resolve_mentions(message)
        if message.ephemeral:
            self.touch()
        else:
            self.emit("MESSAGE_UPDATE", message.guild_id, message)
        return message

    def delete_message(self, message: Message) -> None:
        self._forget(message)
        if message.ephemeral:
            self.touch()
        else:
            self.emit("MESSAGE_DELETE", message.guild_id, message)

    def bulk_delete(self, channel: Channel, messages: list[Message]) -> None:
        for message in messages:
            self._forget(message)
        self.emit(
            "MESSAGE_DELETE_BULK",
            channel.guild_id,
            BulkDelete(
                channel_id=channel.id, guild_id=channel.guild_id, ids=[m.id for m in messages]
            ),
        )

    def _forget(self, message: Message) -> None:
        self.messages.pop(message.id, None)
        channel = self.channels.get(message.channel_id)
        if channel is not None and message.id in channel.message_ids:
            channel.message_ids.remove(message.id)
            if channel.type in THREAD_TYPES:
                channel.message_count = max(0, channel.message_count - 1)

    def set_pinned(self, message: Message, pinned: bool) -> None:
        message.pinned_at = now_iso() if pinned else None
        channel = self.channels[message.channel_id]
        pins = [m for m in self.channel_messages(channel.id) if m.pinned_at]
        channel.last_pin_timestamp = max((m.pinned_at or "" for m in pins), default=None)
        self.emit("CHANNEL_PINS_UPDATE", message.guild_id, channel)

    def _resolve_mentions(self, message: Message) -> None:
        """Who gets pinged: mentions in the text, filtered by ``allowed_mentions``.

        Discord lists in ``mentions`` only those actually notified, which is what a test
        checking "user text never pings" needs to look at.
        """
        allowed = message.allowed_mentions
        parse = (
            set(allowed.get("parse", [])) if allowed is not None else {"users", "roles", "everyone"}
        )
        allowed_users = {int(u) for u in allowed.get("users", [])} if allowed is not None else set()
        allowed_roles = {int(r) for r in allowed.get("roles", [])} if allowed is not None else set()
        users = [int(u) for u in _USER_MENTION.findall(message.content)]
        roles = [int(r) for r in _ROLE_MENTION.findall(message.content)]
        message.mention_user_ids = list(
            dict.fromkeys(
                u for u in users if u in self.users and ("users" in parse or u in allowed_users)
            )
        )
        message.mention_role_ids = list(
            dict.fromkeys(r for r in roles if "roles" in parse or r in allowed_roles)
        )
        message.mention_everyone = "everyone" in parse and (
            "@everyone" in message.content or "@here" in message.content
        )

    # -- application commands -------------------------------------------------------------

    def commands_of(self, app_id: int, guild_id: int | None) -> list[Command]:
        return [
            c
            for c in self.commands.values()
            if c.application_id == app_id and c.guild_id == guild_id
        ]

    def overwrite_commands(
        self, app_id: int, guild_id: int | None, bodies: list[JSON]
    ) -> list[Command]:
        """Bulk overwrite: same name and type keep their id; a changed body gets a new version."""
        old = {(c.name, c.type): c for c in self.commands_of(app_id, guild_id)}
        for command in old.values():
            del self.commands[command.id]
        result: list[Command] = []
        for body in bodies:
            kind = int(body.get("type", 1))
            previous = old.get((body["name"], kind))
            unchanged = previous is not None and previous.body == body
            command = Command(
                id=previous.id if previous is not None else self.ids.next(),
                application_id=app_id,
                guild_id=guild_id,
                name=body["name"],
                type=kind,
                version=previous.version if previous is not None and unchanged else self.ids.next(),
                body=body,
            )
            self.commands[command.id] = command
            result.append(command)
        self.touch()
        return result

    def find_command(
        self, app_id: int, guild_id: int | None, name: str, kind: int
    ) -> Command | None:
        """Guild commands shadow global ones, as in the Discord client."""
        scopes = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.commands_of(app_id, scope):
                if command.name == name and command.type == kind:
                    return command
        return None

    # -- interactions ---------------------------------------------------------------------

    def new_interaction_token(self, interaction_id: int) -> str:
        raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(48)}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def add_interaction(self, record: Interaction) -> None:
        self.interactions[record.id] = record
        self._interactions_by_token[record.token] = record

    def interaction(self, interaction_id: int, token: str) -> Interaction:
        found = self.interactions.get(interaction_id)
        # Bytes: compare_digest refuses non-ASCII str, and a URL may carry anything.
        if found is None or not secrets.compare_digest(found.token.encode(), token.encode()):
            raise errors.not_found(errors.UNKNOWN_INTERACTION, "interaction")
        return found

    def interaction_by_token(self, app_id: int, token: str) -> Interaction:
        """Webhook routes find the interaction by token; after 15 minutes it is gone."""
        found = self._interactions_by_token.get(token)
        if (
            found is None
            or found.application_id != app_id
            or time.time() * 1000 - snowflake_ms(found.id) > INTERACTION_TOKEN_TTL_MS
        ):
            raise errors.not_found(errors.UNKNOWN_WEBHOOK, "Webhook")
        return found

    def app_for_token(self, token: str) -> App:
        app = self.apps_by_token.get(token)
        if app is None:
            raise errors.unauthorized()
        return app

    def application(self, app_id: int) -> App:
        app = self.apps.get(app_id)
        if app is None:
            raise DiscordError(404, errors.UNKNOWN_APPLICATION, "Unknown Application")
        return app
