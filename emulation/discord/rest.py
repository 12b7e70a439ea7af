"""REST API v10: routes, authentication, Discord's headers and error shape.

Interaction callbacks and webhook followups live in ``interactions_api``; message
bodies (JSON or multipart) are read by ``message_input``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from msgspec import UNSET

from . import bodies, errors, payloads
from . import permissions as perms
from .errors import DiscordError
from .members_api import MemberRoutes
from .message_input import decode_json
from .messages_api import MessageRoutes, _int_query
from .models import JSON, App, Channel, Overwrite
from .renames import RenameLimit, too_many
from .state import (
    CATEGORY,
    GUILD_CHANNEL_TYPES,
    THREAD_TYPES,
    World,
    normalize_channel_name,
)
from .threads_api import ThreadRoutes
from .web_util import Handler, bot_auth, json_response, no_content, path_id

GUILD_MEMBERS_INTENT = 1 << 1

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
T = TypeVar("T")

MAX_CHANNELS_PER_CATEGORY = 50
MAX_SLOWMODE = 21600
LOADING = 1 << 7


class RestApi:
    """Discord's REST surface over a ``World``."""

    def __init__(
        self,
        world: World,
        gateway_url: Callable[[], str],
        session_start_limit: Callable[[App], JSON] | None = None,
    ) -> None:
        self.world = world
        self._session_start_limit = session_start_limit
        # Name and topic changes per channel (threads too), two per ten minutes.
        self.renames = RenameLimit()
        self.threads = ThreadRoutes(world, self.renames)
        self.members = MemberRoutes(world)
        self.messages = MessageRoutes(world)
        self._gateway_url = gateway_url
        self.requests: list[tuple[str, str]] = []
        self.server_errors: list[BaseException] = []

    # -- plumbing -------------------------------------------------------------------------

    def install(
        self, app: web.Application, extra: list[tuple[str, str, Handler]] | None = None
    ) -> None:
        app.middlewares.append(self._middleware)
        routes = (
            self.threads.routes()
            + self.members.routes()
            + self.messages.routes()
            + self._routes()
            + (extra or [])
        )
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_get(
            "/attachments/{channel_id}/{attachment_id}/{filename}", self.get_attachment
        )

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(API_PREFIX):
            self.requests.append((request.method, path.removeprefix(API_PREFIX)))
        else:
            # Gateway upgrades and attachment downloads keep their full path; the socket
            # shows as "WS" so it cannot be mistaken for REST ``GET /gateway``.
            upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
            self.requests.append(("WS" if upgrade else request.method, path))
        try:
            response = await handler(request)
        except DiscordError as exc:
            response = json_response(exc.body(), exc.status)
        except web.HTTPNotFound:
            response = json_response({"code": 0, "message": "404: Not Found"}, 404)
        except web.HTTPMethodNotAllowed:
            response = json_response({"code": 0, "message": "405: Method Not Allowed"}, 405)
        except Exception as exc:
            log.exception("fake Discord failed on %s %s", request.method, path)
            self.server_errors.append(exc)
            response = json_response({"code": 0, "message": "500: Internal Server Error"}, 500)
        if path.startswith(API_PREFIX) and not isinstance(response, web.WebSocketResponse):
            self._rate_limit_headers(request, response)
        return response

    def _rate_limit_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        # Generous, never-exhausted buckets: clients see the headers but never wait.
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else request.path
        bucket = hashlib.sha1(f"{request.method} {template}".encode(), usedforsecurity=False)
        reset = time.time() + 1
        response.headers.update(
            {
                "X-RateLimit-Limit": "50",
                "X-RateLimit-Remaining": "49",
                "X-RateLimit-Reset": f"{reset:.3f}",
                "X-RateLimit-Reset-After": "1.000",
                "X-RateLimit-Bucket": bucket.hexdigest()[:32],
                # disnake retries a 429 only when a Via header says it came from Discord's edge.
                "Via": "1.1 fake",
            }
        )

    def auth(self, request: web.Request) -> App:
        return bot_auth(self.world, request)

    async def body(self, request: web.Request, kind: type[T]) -> T:
        return bodies.decode(await request.read(), kind)

    def _routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/users/@me", self.get_me),
            ("POST", "/users/@me/channels", self.create_dm),
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/{app_id}/commands", self.get_commands),
            ("PUT", "/applications/{app_id}/commands", self.put_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self.get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self.put_commands),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/channels", self.get_guild_channels),
            ("POST", "/guilds/{guild_id}/channels", self.create_channel),
            ("GET", "/guilds/{guild_id}/roles", self.get_roles),
            ("GET", "/guilds/{guild_id}/members", self.list_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.add_member_role),
            (
                "DELETE",
                "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
                self.remove_member_role,
            ),
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("PATCH", "/channels/{channel_id}", self.modify_channel),
            ("DELETE", "/channels/{channel_id}", self.delete_channel),
            ("PUT", "/channels/{channel_id}/permissions/{target_id}", self.put_overwrite),
            ("DELETE", "/channels/{channel_id}/permissions/{target_id}", self.delete_overwrite),
            ("POST", "/channels/{channel_id}/typing", self.trigger_typing),
        ]

    # -- users, gateway, application ------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        return json_response(payloads.current_user(self.world, app.bot_user.id))

    async def get_user(self, request: web.Request) -> web.Response:
        self.auth(request)
        user_id = path_id(request, "user_id")
        if user_id not in self.world.users:
            raise errors.not_found(errors.UNKNOWN_USER, "User")
        return json_response(payloads.user(self.world, user_id))

    async def create_dm(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        body = await self.body(request, bodies.DMBody)
        user_id = bodies.snowflake(body.recipient_id, ["recipient_id"])
        if user_id not in self.world.users:
            raise errors.not_found(errors.UNKNOWN_USER, "User")
        channel = self.world.dm_channel(app.bot_user.id, user_id)
        return json_response(payloads.channel(self.world, channel))

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self._gateway_url()})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        limit: JSON = (
            self._session_start_limit(app)
            if self._session_start_limit is not None
            else {
                "total": app.session_start_total,
                "remaining": app.session_starts_remaining,
                "reset_after": app.session_start_reset_ms,
                "max_concurrency": app.max_concurrency,
            }
        )
        return json_response(
            {"url": self._gateway_url(), "shards": app.shard_count, "session_start_limit": limit}
        )

    async def get_application(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        return json_response(payloads.application(self.world, app))

    # -- application commands -------------------------------------------------------------

    def _command_scope(self, request: web.Request) -> tuple[App, int | None]:
        app = self.auth(request)
        if path_id(request, "app_id") != app.id:
            raise DiscordError(
                403,
                errors.NOT_AUTHORIZED_FOR_APPLICATION,
                "You are not authorized to perform this action on this application",
            )
        if "guild_id" not in request.match_info:
            return app, None
        return app, self.world.visible_guild(app, path_id(request, "guild_id")).id

    async def get_commands(self, request: web.Request) -> web.Response:
        app, guild_id = self._command_scope(request)
        found = self.world.commands_of(app.id, guild_id)
        return json_response([payloads.command(c) for c in found])

    async def put_commands(self, request: web.Request) -> web.Response:
        app, guild_id = self._command_scope(request)
        validated = bodies.commands(decode_json(await request.read()))
        stored = self.world.overwrite_commands(app.id, guild_id, validated)
        return json_response([payloads.command(c) for c in stored])

    # -- guilds ---------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        counts = request.query.get("with_counts", "").lower() in ("true", "1")
        return json_response(payloads.guild(self.world, guild, with_counts=counts))

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        return json_response(
            [payloads.channel(self.world, c) for c in self.world.guild_channels(guild.id)]
        )

    async def get_roles(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        return json_response([payloads.role(r) for r in guild.roles.values()])

    async def get_member(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        member = self.world.member(guild.id, path_id(request, "user_id"))
        return json_response(payloads.member(self.world, member))

    async def list_members(self, request: web.Request) -> web.Response:
        """Members by ascending user id after ``after``; needs the Server Members intent."""
        app = self.auth(request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        if not app.allowed_intents & GUILD_MEMBERS_INTENT:
            raise errors.missing_access()
        limit = _int_query(request.query.get("limit"), "limit", 1, 1, 1000)
        after = _int_query(request.query.get("after"), "after", 0, 0, 2**64 - 1)
        found = sorted(
            (m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id
        )
        return json_response([payloads.member(self.world, m) for m in found[:limit]])

    async def add_member_role(self, request: web.Request) -> web.Response:
        return self._change_member_role(request, add=True)

    async def remove_member_role(self, request: web.Request) -> web.Response:
        return self._change_member_role(request, add=False)

    def _change_member_role(self, request: web.Request, *, add: bool) -> web.Response:
        app = self.auth(request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        member = self.world.member(guild.id, path_id(request, "user_id"))
        role_id = path_id(request, "role_id")
        role = guild.roles.get(role_id)
        if role is None or role_id == guild.id:
            raise errors.not_found(errors.UNKNOWN_ROLE, "Role")
        self.world.require_guild(app.bot_user.id, guild.id, perms.MANAGE_ROLES)
        if add and role_id not in member.roles:
            member.roles.append(role_id)
        elif not add and role_id in member.roles:
            member.roles.remove(role_id)
        self.world.emit("GUILD_MEMBER_UPDATE", guild.id, member)
        return no_content()

    # -- channels -------------------------------------------------------------------------

    def _overwrites(self, guild_id: int, raw: list[bodies.OverwriteBody]) -> list[Overwrite]:
        out: list[Overwrite] = []
        for index, item in enumerate(raw):
            at = ["permission_overwrites", str(index)]
            if item.type not in (perms.OVERWRITE_ROLE, perms.OVERWRITE_MEMBER):
                raise errors.form_error(
                    [*at, "type"], "BASE_TYPE_CHOICES", "Value must be one of (0, 1)."
                )
            target = bodies.snowflake(item.id, [*at, "id"])
            self._check_overwrite_target(guild_id, item.type, target)
            out.append(
                Overwrite(
                    id=target,
                    type=item.type,
                    allow=bodies.bitfield(item.allow, [*at, "allow"]),
                    deny=bodies.bitfield(item.deny, [*at, "deny"]),
                )
            )
        return out

    def _check_overwrite_target(self, guild_id: int, kind: int, target: int) -> None:
        if kind == perms.OVERWRITE_ROLE and target not in self.world.guilds[guild_id].roles:
            raise errors.not_found(errors.UNKNOWN_ROLE, "Role")
        if kind == perms.OVERWRITE_MEMBER and target not in self.world.users:
            raise errors.not_found(errors.UNKNOWN_USER, "User")

    def _parent(self, guild_id: int, raw: bodies.Snowflake | None, channel_type: int) -> int | None:
        if raw is None:
            return None
        parent_id = bodies.snowflake(raw, ["parent_id"])
        parent = self.world.channels.get(parent_id)
        if (
            channel_type == CATEGORY
            or parent is None
            or parent.guild_id != guild_id
            or parent.type != CATEGORY
        ):
            raise errors.form_error(
                ["parent_id"], "CHANNEL_PARENT_INVALID", "Invalid parent channel"
            )
        children = sum(1 for c in self.world.guild_channels(guild_id) if c.parent_id == parent_id)
        if children >= MAX_CHANNELS_PER_CATEGORY:
            raise errors.form_error(
                ["parent_id"],
                "CHANNEL_PARENT_MAX_CHANNELS",
                f"Maximum number of channels in category reached ({MAX_CHANNELS_PER_CATEGORY})",
            )
        return parent_id

    async def create_channel(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        body = await self.body(request, bodies.CreateChannelBody)
        self.world.require_guild(app.bot_user.id, guild.id, perms.MANAGE_CHANNELS)
        if body.type not in GUILD_CHANNEL_TYPES:
            raise errors.form_error(
                ["type"], "BASE_TYPE_CHOICES", "Value must be a guild channel type."
            )
        if body.permission_overwrites:
            self.world.require_guild(app.bot_user.id, guild.id, perms.MANAGE_ROLES)
        bodies.channel_name(body.name, ["name"])
        if body.topic is not None and len(body.topic) > 1024:
            raise errors.form_error(
                ["topic"], "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length."
            )
        channel = self.world.add_channel(
            guild.id,
            body.name,
            type=body.type,
            parent_id=self._parent(guild.id, body.parent_id, body.type),
            topic=body.topic,
            position=body.position,
            overwrites=self._overwrites(guild.id, body.permission_overwrites or []),
            rate_limit_per_user=body.rate_limit_per_user or 0,
            nsfw=bool(body.nsfw),
        )
        return json_response(payloads.channel(self.world, channel), 201)

    async def get_channel(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self.world.visible_channel(app, path_id(request, "channel_id"))
        self.world.require(app.bot_user.id, channel, 0)
        return json_response(payloads.channel(self.world, channel, viewer=app.bot_user.id))

    async def modify_channel(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self.world.visible_channel(app, path_id(request, "channel_id"))
        if channel.type in THREAD_TYPES:
            return await self.threads.modify(request, app, channel)
        body = await self.body(request, bodies.ModifyChannelBody)
        if channel.guild_id is None:
            raise DiscordError(
                400, errors.WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type"
            )
        self.world.require(app.bot_user.id, channel, perms.MANAGE_CHANNELS)
        # Check every field before changing any: a refused edit leaves the channel as it was.
        changes: dict[str, Any] = {}
        if isinstance(body.name, str):
            changes["name"] = normalize_channel_name(
                bodies.channel_name(body.name, ["name"]), channel.type
            )
        if body.topic is not UNSET:
            if body.topic is not None and len(body.topic) > 1024:
                raise errors.form_error(
                    ["topic"], "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length."
                )
            changes["topic"] = body.topic
        if isinstance(body.position, int):
            changes["position"] = body.position
        if body.parent_id is not UNSET:
            parent_id = (
                None if body.parent_id is None else bodies.snowflake(body.parent_id, ["parent_id"])
            )
            if parent_id != channel.parent_id:
                changes["parent_id"] = self._parent(channel.guild_id, parent_id, channel.type)
        if body.permission_overwrites is not UNSET:
            self.world.require(app.bot_user.id, channel, perms.MANAGE_ROLES)
            changes["permission_overwrites"] = self._overwrites(
                channel.guild_id, body.permission_overwrites or []
            )
        if body.rate_limit_per_user is not UNSET:
            slowmode = body.rate_limit_per_user or 0
            if not 0 <= slowmode <= MAX_SLOWMODE:
                raise errors.form_error(
                    ["rate_limit_per_user"],
                    "NUMBER_TYPE_MAX",
                    f"Must be between 0 and {MAX_SLOWMODE}.",
                )
            changes["rate_limit_per_user"] = slowmode
        if body.nsfw is not UNSET:
            changes["nsfw"] = bool(body.nsfw)
        renamed = changes.get("name", channel.name) != channel.name
        if renamed or changes.get("topic", channel.topic) != channel.topic:
            wait = self.renames.admit(channel.id)
            if wait is not None:
                return too_many(wait)
        for key, value in changes.items():
            setattr(channel, key, value)
        self.world.emit("CHANNEL_UPDATE", channel.guild_id, channel)
        return json_response(payloads.channel(self.world, channel))

    async def delete_channel(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self.world.visible_channel(app, path_id(request, "channel_id"))
        if channel.type in THREAD_TYPES:
            return await self.threads.delete(app, channel)
        self.world.require(app.bot_user.id, channel, perms.MANAGE_CHANNELS)
        rendered = payloads.channel(self.world, channel)
        self.world.delete_channel(channel)
        return json_response(rendered)

    async def put_overwrite(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._guild_channel(app, request)
        body = await self.body(request, bodies.PutOverwriteBody)
        self.world.require(app.bot_user.id, channel, perms.MANAGE_ROLES)
        target = path_id(request, "target_id")
        if body.type not in (perms.OVERWRITE_ROLE, perms.OVERWRITE_MEMBER):
            raise errors.form_error(["type"], "BASE_TYPE_CHOICES", "Value must be one of (0, 1).")
        assert channel.guild_id is not None
        self._check_overwrite_target(channel.guild_id, body.type, target)
        self.world.set_overwrite(
            channel,
            Overwrite(
                id=target,
                type=body.type,
                allow=bodies.bitfield(body.allow, ["allow"]),
                deny=bodies.bitfield(body.deny, ["deny"]),
            ),
        )
        return no_content()

    async def delete_overwrite(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self._guild_channel(app, request)
        self.world.require(app.bot_user.id, channel, perms.MANAGE_ROLES)
        target = path_id(request, "target_id")
        channel.permission_overwrites = [o for o in channel.permission_overwrites if o.id != target]
        self.world.emit("CHANNEL_UPDATE", channel.guild_id, channel)
        return no_content()

    def _guild_channel(self, app: App, request: web.Request) -> Channel:
        channel = self.world.visible_channel(app, path_id(request, "channel_id"))
        if channel.guild_id is None:
            raise DiscordError(
                400, errors.WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type"
            )
        return channel

    async def trigger_typing(self, request: web.Request) -> web.Response:
        app = self.auth(request)
        channel = self.world.visible_channel(app, path_id(request, "channel_id"))
        self.world.require(app.bot_user.id, channel, perms.SEND_MESSAGES)
        return no_content()

    # -- attachments (the CDN) ------------------------------------------------------------

    async def get_attachment(self, request: web.Request) -> web.Response:
        attachment_id = path_id(request, "attachment_id")
        for message in self.world.messages.values():
            for item in message.attachments:
                if item.id == attachment_id:
                    return web.Response(
                        body=item.data, content_type=item.content_type or "application/octet-stream"
                    )
        raise web.HTTPNotFound()
