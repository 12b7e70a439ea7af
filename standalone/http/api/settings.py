"""``GET/PATCH /admin/guilds/{guild}/settings``: the server-wide settings of ``/settings``."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from aiohttp import web

from standalone.db.records import GuildSettings
from standalone.db.settings import SettingsError, SettingsRepository
from standalone.http.access import GuildAccess, require_admin
from standalone.http.api.base import API, ApiRoute, body, guild_param, json, write_guard
from standalone.http.api.changes_log import log_change
from standalone.http.api.fields import Duration, Snowflake, changes_of, settings_error
from standalone.http.api.refs import ANNOUNCEMENT, TEXT, GuildRefs
from standalone.http.deps import HttpDeps, deps_of

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
Locale = Literal["en-GB", "en-US", "de", "fr", "es-ES"]


class SettingsPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Settings to change; leave a field out to keep it, null clears the nullable ones."""

    # The languages the bot speaks (standalone.i18n.SUPPORTED; a test keeps them equal).
    locale: Locale | Unset = UNSET
    archive: bool | Unset = UNSET
    claim_button: bool | Unset = UNSET
    close_button: bool | Unset = UNSET
    blocked_roles: Annotated[list[Snowflake], msgspec.Meta(max_length=250)] | Unset = UNSET
    colour: Annotated[int, msgspec.Meta(ge=0, le=0xFFFFFF)] | Unset = UNSET
    auto_close_ms: Duration | Unset | None = UNSET
    stale_after_ms: Duration | Unset | None = UNSET
    log_channel: Snowflake | Unset | None = UNSET
    footer: Annotated[str, msgspec.Meta(max_length=200)] | Unset | None = UNSET
    auto_tag_tickets: bool | Unset = UNSET
    auto_tag_channels: Annotated[list[Snowflake], msgspec.Meta(max_length=50)] | Unset = UNSET


async def get_settings(deps: HttpDeps, access: GuildAccess) -> GuildSettings:
    return await SettingsRepository(deps.db, access.tenant).guild(access.guild_id)


async def update_settings(
    deps: HttpDeps, access: GuildAccess, patch: SettingsPatch
) -> GuildSettings:
    """Check every value (roles and channel against the server), then save them together."""
    changes = changes_of(patch)
    refs = GuildRefs(deps, access.tenant, access.guild_id)
    if "blocked_roles" in changes:
        await refs.check_roles("blocked_roles", changes["blocked_roles"])
    if changes.get("log_channel") is not None:
        await refs.check_channel("log_channel", changes["log_channel"], {TEXT, ANNOUNCEMENT})
    for n, channel in enumerate(changes.get("auto_tag_channels") or []):
        await refs.check_channel(f"auto_tag_channels.{n}", channel, {TEXT, ANNOUNCEMENT})
    if "auto_tag_channels" in changes:
        changes["auto_tag_channels"] = list(dict.fromkeys(changes["auto_tag_channels"]))
    if isinstance(changes.get("footer"), str):
        changes["footer"] = changes["footer"].strip() or None
    repo = SettingsRepository(deps.db, access.tenant)
    before = await repo.guild(access.guild_id)
    try:
        after = await repo.update_guild(access.guild_id, **changes)
    except SettingsError as exc:
        raise settings_error(exc) from None
    await log_change(deps, access, before, after)
    return after


async def get_handler(request: web.Request) -> web.Response:
    access = await require_admin(request, guild_param(request))
    return json(await get_settings(deps_of(request), access))


async def patch_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await require_admin(request, guild_param(request))
    patch = await body(request, SettingsPatch)
    return json(await update_settings(deps_of(request), access, patch))


PATH = f"{API}/admin/guilds/{{guild}}/settings"
ROUTES = [
    ApiRoute(
        method="GET",
        path=PATH,
        handler=get_handler,
        summary="The server's ticket settings",
        response=GuildSettings,
        tag="settings",
    ),
    ApiRoute(
        method="PATCH",
        path=PATH,
        handler=patch_handler,
        summary="Change some of the server's ticket settings",
        body=SettingsPatch,
        response=GuildSettings,
        tag="settings",
    ),
]
