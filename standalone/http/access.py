"""Who may do what, for every API route and page.

- ``current_session(request)``: the logged-in session for the URL's tenant, or None.
- ``require_session(request)``: the same, or 401 (403 for another tenant's session).
- ``guild_access(request, guild_id)``: the caller's standing in a guild, as the
  tenant's bot sees it now (member, staff of which categories, admin).
- ``require_admin(request, guild_id)``: Manage Server, Administrator or owner, else 403.
- ``require_member(request, guild_id)``: any member of the guild, else 403.

Standing comes from the bot's view of the member (roles and their permissions,
the guild's owner), asked when needed, so a role taken away counts at once. A
guild the bot is not in is 404 for everyone. The user's own guild list (from
their OAuth token, kept in the session) only decides which servers are listed.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec
from aiohttp import web

from standalone.db.settings import SettingsRepository
from standalone.http.deps import deps_of, tenant_of
from standalone.http.discord_api import ADMIN_BITS, DiscordRefused, DiscordUnavailable
from standalone.http.errors import ApiError, forbidden, not_found, unauthorized
from standalone.http.sessions import SESSION_COOKIE, Session

_SESSION = web.RequestKey("tickets_session", Session)


class Level(IntEnum):
    """v4's privilege levels, without its operators."""

    MEMBER = 0
    STAFF = 1
    ADMIN = 2
    OWNER = 3


class GuildAccess(msgspec.Struct, frozen=True, kw_only=True):
    """The caller's standing in one guild of the URL's tenant."""

    session: Session
    tenant: str
    guild_id: str
    guild_name: str
    level: Level
    # Keys of the categories whose staff roles the caller holds (all of them for admins).
    staff_categories: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return self.level >= Level.ADMIN


async def current_session(request: web.Request) -> Session | None:
    """The caller's live session for the URL's tenant, or None (also for another tenant's)."""
    if _SESSION in request:
        return request[_SESSION]
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    tenant = await tenant_of(request)
    session = await deps_of(request).sessions.find(cookie)
    if session is None or session.tenant != tenant.name:
        return None
    request[_SESSION] = session
    return session


async def require_session(request: web.Request) -> Session:
    """The caller's session, or 401; a session of another tenant is refused with 403."""
    await tenant_of(request)  # an unknown tenant is 404 whoever asks
    session = await current_session(request)
    if session is not None:
        return session
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        other = await deps_of(request).sessions.find(cookie)
        if other is not None:
            raise forbidden("this session is for another bot; log in to this one")
    raise unauthorized()


async def guild_access(request: web.Request, guild_id: str) -> GuildAccess:
    """The caller's standing in ``guild_id``; 403 for a non-member, 404 if the bot is not there."""
    session = await require_session(request)
    if not guild_id.isdigit():
        raise not_found("server")
    deps = deps_of(request)
    tenant = await tenant_of(request)
    token = deps.tenants.token(tenant)
    try:
        guild = await deps.discord.guild(token, guild_id)
        member = await deps.discord.member(token, guild_id, session.user_id)
        if member is None:
            raise forbidden("you are not a member of this server")
        roles = set(member.roles)
        level = Level.MEMBER
        if guild.owner_id == session.user_id:
            level = Level.OWNER
        else:
            held = roles | {guild_id}  # @everyone has the guild's id
            server_roles = await deps.discord.roles(token, guild_id)
            if any(int(r.permissions) & ADMIN_BITS for r in server_roles if r.id in held):
                level = Level.ADMIN
    except DiscordRefused as exc:
        if exc.status in (403, 404):
            raise not_found("server") from None
        raise ApiError(502, "Discord refused the bot's request") from None
    except DiscordUnavailable:
        raise ApiError(502, "Discord cannot be reached; try again") from None
    categories = await SettingsRepository(deps.db, tenant.name).categories(guild_id)
    if level >= Level.ADMIN:
        staff = frozenset(c.key for c in categories)
    else:
        staff = frozenset(c.key for c in categories if roles & set(c.staff_roles))
        if staff:
            level = Level.STAFF
    return GuildAccess(
        session=session,
        tenant=tenant.name,
        guild_id=guild_id,
        guild_name=guild.name,
        level=level,
        staff_categories=staff,
    )


async def require_member(request: web.Request, guild_id: str) -> GuildAccess:
    """Any member of the guild (what they then see is up to the route)."""
    return await guild_access(request, guild_id)


async def require_admin(request: web.Request, guild_id: str) -> GuildAccess:
    """Owner, Administrator or Manage Server in the guild; else 403."""
    access = await guild_access(request, guild_id)
    if not access.is_admin:
        raise forbidden("you need the Manage Server permission in this server")
    return access
