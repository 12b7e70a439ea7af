"""Member routes beyond reading one: edit (roles, nickname, timeout) and kick."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET

from . import bodies, errors, members, payloads
from . import permissions as perms
from .state import World
from .web_util import Handler, bot_auth, json_response, no_content, path_id

MODERATE_MEMBERS = 1 << 40
MANAGE_NICKNAMES = 1 << 27


class MemberRoutes:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> list[tuple[str, str, Handler]]:
        member = "/guilds/{guild_id}/members/{user_id}"
        return [("PATCH", member, self.modify), ("DELETE", member, self.kick)]

    async def modify(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        member = self.world.member(guild.id, path_id(request, "user_id"))
        body = bodies.decode(await request.read(), bodies.ModifyMemberBody)
        bot = app.bot_user.id
        if body.roles is not UNSET:
            self.world.require_guild(bot, guild.id, perms.MANAGE_ROLES)
        if body.communication_disabled_until is not UNSET:
            self.world.require_guild(bot, guild.id, MODERATE_MEMBERS)
            if member.user_id == guild.owner_id or (
                self.world.permissions(guild.id, member.user_id) & perms.ADMINISTRATOR
            ):
                # Discord refuses to time out owners and administrators.
                raise errors.missing_permissions()
        if body.nick is not UNSET:
            self.world.require_guild(bot, guild.id, MANAGE_NICKNAMES)
            bodies.check_len(body.nick, 32, ["nick"])
        # Validate everything before changing anything: no half-applied edit.
        role_ids = None
        if body.roles is not UNSET:
            role_ids = [
                bodies.snowflake(r, ["roles", str(i)]) for i, r in enumerate(body.roles or [])
            ]
            if any(r not in guild.roles or r == guild.id for r in role_ids):
                raise errors.not_found(errors.UNKNOWN_ROLE, "Role")
        if body.communication_disabled_until is not UNSET:
            members.parse_until(body.communication_disabled_until)
        if role_ids is not None:
            members.set_roles(self.world, member, role_ids)
        if body.nick is not UNSET:
            member.nick = body.nick or None
            self.world.emit("GUILD_MEMBER_UPDATE", guild.id, member)
        if body.communication_disabled_until is not UNSET:
            members.set_timeout(self.world, member, body.communication_disabled_until)
        return json_response(payloads.member(self.world, member))

    async def kick(self, request: web.Request) -> web.Response:
        app = bot_auth(self.world, request)
        guild = self.world.visible_guild(app, path_id(request, "guild_id"))
        member = self.world.member(guild.id, path_id(request, "user_id"))
        self.world.require_guild(app.bot_user.id, guild.id, perms.KICK_MEMBERS)
        if member.user_id == guild.owner_id:
            raise errors.missing_permissions()
        members.remove(self.world, guild.id, member.user_id)
        return no_content()
