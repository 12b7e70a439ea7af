"""Servers: the ones the caller shares with the bot, and one server's overview.

``GET /guilds`` and ``GET /admin/guilds`` list from the caller's own guild list
(taken at log-in); what the caller may do in one server is always decided by
``access.guild_access``, from the bot's current view.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from standalone.db.settings import SettingsRepository
from standalone.http.access import GuildAccess, Level, guild_access, require_admin, require_session
from standalone.http.api.base import API, ApiRoute, guild_param, json
from standalone.http.api.refs import GuildRefs
from standalone.http.deps import HttpDeps, deps_of, tenant_of
from standalone.http.discord_api import DiscordRefused, DiscordUnavailable
from standalone.http.errors import ApiError
from standalone.http.sessions import Session


class GuildSummary(msgspec.Struct, kw_only=True):
    """A server in a list; ``level``: 0 member, 1 staff, 2 admin, 3 owner."""

    id: str
    name: str
    icon: str | None
    level: int
    bot_added: bool


class GuildDetail(msgspec.Struct, kw_only=True):
    """The caller's standing in one server."""

    id: str
    name: str
    level: int
    staff_categories: list[str]


class GuildOverview(msgspec.Struct, kw_only=True):
    """What an admin sees first: counts of what the server has."""

    id: str
    name: str
    categories: int
    tags: int
    open_tickets: int
    tickets: int


class ChannelOut(msgspec.Struct, kw_only=True):
    """A channel: type 0 text, 4 category, 5 announcement (Discord's numbers)."""

    id: str
    name: str | None
    type: int
    parent_id: str | None


class RoleOut(msgspec.Struct, kw_only=True):
    id: str
    name: str


class GuildDiscord(msgspec.Struct, kw_only=True):
    """The server's channels and roles as the bot sees them, for pickers in forms."""

    channels: list[ChannelOut]
    roles: list[RoleOut]


async def discord_view(deps: HttpDeps, access: GuildAccess) -> GuildDiscord:
    refs = GuildRefs(deps, access.tenant, access.guild_id)
    channels = sorted((await refs.channels()).values(), key=lambda c: (c.type, c.name or ""))
    return GuildDiscord(
        channels=[
            ChannelOut(id=c.id, name=c.name, type=c.type, parent_id=c.parent_id) for c in channels
        ],
        roles=[
            RoleOut(id=r.id, name=r.name)
            for r in await refs.role_list()
            if r.id != access.guild_id  # @everyone is no role to pick
        ],
    )


async def bot_guild_ids(deps: HttpDeps, tenant: str) -> set[str]:
    found = await deps.tenants.get(tenant)
    if found is None:
        return set()
    try:
        return {g.id for g in await deps.discord.bot_guilds(deps.tenants.token(found))}
    except (DiscordRefused, DiscordUnavailable):
        raise ApiError(502, "Discord cannot be reached; try again") from None


async def list_guilds(deps: HttpDeps, session: Session, *, admin_only: bool) -> list[GuildSummary]:
    """The caller's servers (only those they manage with ``admin_only``), bot's first."""
    present = await bot_guild_ids(deps, session.tenant)
    out = []
    for guild in session.guilds:
        if admin_only and not guild.manages:
            continue
        if not admin_only and guild.id not in present:
            continue
        level = Level.OWNER if guild.owner else Level.ADMIN if guild.manages else Level.MEMBER
        out.append(
            GuildSummary(
                id=guild.id,
                name=guild.name,
                icon=guild.icon,
                level=int(level),
                bot_added=guild.id in present,
            )
        )
    out.sort(key=lambda g: (not g.bot_added, g.name.lower()))
    return out


def detail_of(access: GuildAccess) -> GuildDetail:
    return GuildDetail(
        id=access.guild_id,
        name=access.guild_name,
        level=int(access.level),
        staff_categories=sorted(access.staff_categories),
    )


async def overview(deps: HttpDeps, access: GuildAccess) -> GuildOverview:
    categories = await SettingsRepository(deps.db, access.tenant).categories(access.guild_id)
    counts = await deps.db.run(
        "RETURN count(SELECT id FROM tag WHERE tenant = $t AND guild_id = $g);"
        "RETURN count(SELECT id FROM ticket WHERE tenant = $t AND guild_id = $g);"
        "RETURN count(SELECT id FROM ticket WHERE tenant = $t AND guild_id = $g "
        "AND state IN ['opening', 'open', 'closing']);",
        {"t": access.tenant, "g": access.guild_id},
    )
    return GuildOverview(
        id=access.guild_id,
        name=access.guild_name,
        categories=len(categories),
        tags=int(counts[0] or 0),
        tickets=int(counts[1] or 0),
        open_tickets=int(counts[2] or 0),
    )


async def get_guilds(request: web.Request) -> web.Response:
    session = await require_session(request)
    return json(await list_guilds(deps_of(request), session, admin_only=False))


async def get_guild(request: web.Request) -> web.Response:
    return json(detail_of(await guild_access(request, guild_param(request))))


async def get_admin_guilds(request: web.Request) -> web.Response:
    await tenant_of(request)
    session = await require_session(request)
    return json(await list_guilds(deps_of(request), session, admin_only=True))


async def get_discord(request: web.Request) -> web.Response:
    access = await require_admin(request, guild_param(request))
    return json(await discord_view(deps_of(request), access))


async def get_admin_guild(request: web.Request) -> web.Response:
    access = await require_admin(request, guild_param(request))
    return json(await overview(deps_of(request), access))


ROUTES = [
    ApiRoute(
        method="GET",
        path=f"{API}/guilds",
        handler=get_guilds,
        summary="The caller's servers that have this bot",
        auth="session",
        response=list[GuildSummary],
        tag="guilds",
    ),
    ApiRoute(
        method="GET",
        path=f"{API}/guilds/{{guild}}",
        handler=get_guild,
        summary="The caller's standing in one server",
        auth="member",
        response=GuildDetail,
        tag="guilds",
    ),
    ApiRoute(
        method="GET",
        path=f"{API}/admin/guilds",
        handler=get_admin_guilds,
        summary="Servers the caller manages, with whether the bot is in them",
        auth="session",
        response=list[GuildSummary],
        tag="admin",
    ),
    ApiRoute(
        method="GET",
        path=f"{API}/admin/guilds/{{guild}}",
        handler=get_admin_guild,
        summary="Overview of a server the caller manages",
        auth="admin",
        response=GuildOverview,
        tag="admin",
    ),
    ApiRoute(
        method="GET",
        path=f"{API}/admin/guilds/{{guild}}/discord",
        handler=get_discord,
        summary="The server's channels and roles, for pickers",
        response=GuildDiscord,
        tag="admin",
    ),
]
