"""Message routes: read, post, edit, delete (one or in bulk) and pins."""

from __future__ import annotations

import time
from typing import TypeVar

from aiohttp import web

from . import bodies, errors, payloads, threads
from . import permissions as perms
from .errors import DiscordError
from .message_input import message_fields, read_input
from .models import JSON, App, Channel, Message
from .snowflake import snowflake_ms
from .state import CATEGORY, DM, World
from .web_util import Handler, bot_auth, json_response, no_content, path_id

T = TypeVar("T")
MAX_PINS = 250
CHANNEL_PINNED_MESSAGE = 6  # the message type of "X pinned a message"


class MessageRoutes:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            # Pins first: ``/messages/pins`` must not be taken for a message id.
            ("GET", "/channels/{channel_id}/messages/pins", self.get_pins),
            ("POST", "/channels/{channel_id}/messages/bulk-delete", self.bulk_delete),
            ("PUT", "/channels/{channel_id}/messages/pins/{message_id}", self.pin),
            ("DELETE", "/channels/{channel_id}/messages/pins/{message_id}", self.unpin),
            ("GET", "/channels/{channel_id}/messages", self.get_messages),
            ("POST", "/channels/{channel_id}/messages", self.create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
        ]

    def auth(self, request: web.Request) -> App:
        return bot_auth(self.world, request)

    async def body(self, request: web.Request, kind: type[T]) -> T:
        return bodies.decode(await request.read(), kind)

    def _text_channel(self, app: App, request: web.Request) -> Channel:
        channel = self.world.visible_channel(app, path_id(request, "channel_id"))
        if channel.type == CATEGORY:
            raise DiscordError(400, 50008, "Cannot send messages in a non-text channel")
        return channel

    async def get_messages(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._text_channel(app, request)
        self.world.require(app.bot_user.id, channel, perms.READ_MESSAGE_HISTORY)
        query = request.query
        limit = _int_query(query.get("limit"), "limit", 50, 1, 100)
        listed = self.world.channel_messages(channel.id)
        if "before" in query:
            before = bodies.snowflake(query["before"], ["before"])
            listed = [m for m in listed if m.id < before][-limit:]
        elif "after" in query:
            after = bodies.snowflake(query["after"], ["after"])
            listed = [m for m in listed if m.id > after][:limit]
        elif "around" in query:
            around = bodies.snowflake(query["around"], ["around"])
            older = [m for m in listed if m.id < around][-(limit // 2) :] if limit > 1 else []
            newer = [m for m in listed if m.id >= around][: limit - len(older)]
            listed = older + newer
        else:
            listed = listed[-limit:]
        # Discord lists newest first.
        return json_response([payloads.message(self.world, m) for m in reversed(listed)])

    async def get_message(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._text_channel(app, request)
        self.world.require(app.bot_user.id, channel, perms.READ_MESSAGE_HISTORY)
        message = self.world.message_in(channel, path_id(request, "message_id"))
        return json_response(payloads.message(self.world, message))

    async def create_message(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._text_channel(app, request)
        inp = await read_input(request)
        fields = message_fields(self.world, inp, inp.raw)
        needed = perms.SEND_MESSAGES | (perms.ATTACH_FILES if fields.get("attachments") else 0)
        self.world.require(app.bot_user.id, channel, needed)
        if channel.type == DM:
            self._check_dm_allowed(app, channel)
        if channel.thread is not None:
            threads.before_message(self.world, channel, app.bot_user.id)
        raw = inp.raw if isinstance(inp.raw, dict) else {}
        bodies.require_not_empty(
            fields.get("content", ""),
            fields.get("embeds", []),
            fields.get("components", []),
            len(fields.get("attachments", [])),
            len(raw.get("sticker_ids") or []),
        )
        fields["flags"] = fields.get("flags", 0) & (
            bodies.SUPPRESS_EMBEDS | bodies.SUPPRESS_NOTIFICATIONS | bodies.IS_COMPONENTS_V2
        )
        # A message with a reference is a reply (type 19), as Discord marks it.
        kind = 19 if fields.get("reference") else 0
        message = self.world.create_message(channel, app.bot_user.id, message_type=kind, **fields)
        return json_response(payloads.message(self.world, message))

    def _check_dm_allowed(self, app: App, channel: Channel) -> None:
        recipient = self.world.users[channel.recipient_ids[0]]
        shares_guild = any(
            app.id in g.app_ids and recipient.id in g.members for g in self.world.guilds.values()
        )
        if not recipient.accepts_dms or not shares_guild:
            raise DiscordError(403, errors.CANNOT_MESSAGE_USER, "Cannot send messages to this user")

    async def edit_message(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._text_channel(app, request)
        message = self.world.message_in(channel, path_id(request, "message_id"))
        inp = await read_input(request)
        fields = message_fields(self.world, inp, inp.raw, editing=message)
        if message.author_id != app.bot_user.id:
            # Others' messages: only embed suppression may change, with Manage Messages.
            if set(fields) - {"flags"}:
                raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
            self.world.require(app.bot_user.id, channel, perms.MANAGE_MESSAGES)
        self.world.edit_message(message, fields)
        return json_response(payloads.message(self.world, message))

    async def delete_message(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._text_channel(app, request)
        message = self.world.message_in(channel, path_id(request, "message_id"))
        if message.author_id != app.bot_user.id:
            self.world.require(app.bot_user.id, channel, perms.MANAGE_MESSAGES)
        self.world.delete_message(message)
        return no_content()

    async def bulk_delete(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._text_channel(app, request)
        body = await self.body(request, bodies.BulkDeleteBody)
        self.world.require(app.bot_user.id, channel, perms.MANAGE_MESSAGES)
        if not 2 <= len(body.messages) <= 100:
            raise errors.form_error(
                ["messages"], "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length."
            )
        ids = [bodies.snowflake(m, ["messages", str(i)]) for i, m in enumerate(body.messages)]
        if len(set(ids)) != len(ids):
            raise errors.form_error(["messages"], "BASE_TYPE_DUPLICATES", "Duplicate message ids.")
        two_weeks_ago = (time.time() - 14 * 24 * 3600) * 1000
        if any(snowflake_ms(i) < two_weeks_ago for i in ids):
            raise DiscordError(
                400, 50034, "You can only bulk delete messages that are under 14 days old."
            )
        found = [
            m
            for i in ids
            if (m := self.world.messages.get(i)) is not None
            and m.channel_id == channel.id
            and not m.ephemeral
        ]
        if found:
            self.world.bulk_delete(channel, found)
        return no_content()

    def _pin_target(self, request: web.Request) -> tuple[App, Message]:
        app = self.auth(request)
        channel = self._text_channel(app, request)
        message = self.world.message_in(channel, path_id(request, "message_id"))
        if channel.guild_id is not None:
            have = self.world.permissions(channel.guild_id, app.bot_user.id, channel.id)
            if not have & (perms.PIN_MESSAGES | perms.MANAGE_MESSAGES):
                raise errors.missing_permissions()
        return app, message

    async def pin(self, request: web.Request) -> web.Response:
        app, message = self._pin_target(request)
        if message.pinned_at is None:
            pinned = [m for m in self.world.channel_messages(message.channel_id) if m.pinned_at]
            if len(pinned) >= MAX_PINS:
                raise DiscordError(400, 30003, f"Maximum number of pins reached ({MAX_PINS})")
            self.world.set_pinned(message, True)
            # Discord announces a new pin with a system message by the pinner
            # ("X pinned a message"); pinning a pinned message again announces nothing.
            reference: JSON = {
                "type": 0,
                "channel_id": str(message.channel_id),
                "message_id": str(message.id),
            }
            if message.guild_id is not None:
                reference["guild_id"] = str(message.guild_id)
            self.world.create_message(
                self.world.channels[message.channel_id],
                app.bot_user.id,
                message_type=CHANNEL_PINNED_MESSAGE,
                reference=reference,
            )
        return no_content()

    async def unpin(self, request: web.Request) -> web.Response:
        _, message = self._pin_target(request)
        if message.pinned_at is not None:
            self.world.set_pinned(message, False)
        return no_content()

    async def get_pins(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._text_channel(app, request)
        self.world.require(app.bot_user.id, channel, perms.READ_MESSAGE_HISTORY)
        limit = _int_query(request.query.get("limit"), "limit", 50, 1, 50)
        pinned = sorted(
            (m for m in self.world.channel_messages(channel.id) if m.pinned_at),
            key=lambda m: m.pinned_at or "",
            reverse=True,
        )
        before = request.query.get("before")
        if before:
            pinned = [m for m in pinned if (m.pinned_at or "") < before]
        page = pinned[:limit]
        return json_response(
            {
                "items": [
                    {"pinned_at": m.pinned_at, "message": payloads.message(self.world, m)}
                    for m in page
                ],
                "has_more": len(pinned) > limit,
            }
        )


def _int_query(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise errors.form_error([name], "NUMBER_TYPE_MAX", f"Must be between {low} and {high}.")
    return int(raw)
