"""``POST /admin/guilds/{guild}/panels``: post a panel to a channel, as ``/panel`` does.

The message is built and sent by ``standalone.tickets.panels.send_panel``, the
code ``/panel`` uses, through the tenant's bot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import disnake
import msgspec
from aiohttp import web

from standalone.db.settings import SettingsRepository
from standalone.http.access import GuildAccess, require_admin
from standalone.http.api.base import API, ApiRoute, body, guild_param, json, write_guard
from standalone.http.api.fields import Snowflake
from standalone.http.api.refs import ANNOUNCEMENT, TEXT, GuildRefs
from standalone.http.deps import HttpDeps, deps_of
from standalone.http.errors import ApiError, invalid
from standalone.tickets.errors import TicketError
from standalone.tickets.panels import send_panel

CategoryKeys = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=32)]], msgspec.Meta(max_length=25)
]


class PanelCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where to post, for which categories (none listed: all), and how it looks."""

    channel_id: Snowflake
    categories: CategoryKeys = []
    style: Literal["buttons", "menu"] = "buttons"
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)] | None = None


class PanelPosted(msgspec.Struct, kw_only=True):
    channel_id: str
    categories: list[str]


async def post_panel(deps: HttpDeps, access: GuildAccess, panel: PanelCreate) -> PanelPosted:
    """Check the channel and categories, then post through the tenant's bot."""
    refs = GuildRefs(deps, access.tenant, access.guild_id)
    await refs.check_channel("channel_id", panel.channel_id, {TEXT, ANNOUNCEMENT})
    every = await SettingsRepository(deps.db, access.tenant).categories(access.guild_id)
    if panel.categories:
        by_key = {c.key: c for c in every}
        for n, key in enumerate(panel.categories):
            if key not in by_key:
                raise invalid(f"categories.{n}", f"no category with key {key!r}")
        chosen = [by_key[k] for k in dict.fromkeys(panel.categories)]
    else:
        chosen = every
    if not chosen:
        raise invalid("categories", "this server has no ticket categories yet; add one first")
    ctx = await deps.bots.context(access.tenant)
    settings = await ctx.settings.guild(access.guild_id)
    marker = f"p{disnake.utils.time_snowflake(datetime.now(UTC))}"
    try:
        await send_panel(
            ctx,
            int(panel.channel_id),
            chosen,
            settings,
            style="menu" if panel.style == "menu" else "buttons",
            title=panel.title,
            description=panel.description,
            marker=marker,
        )
    except TicketError as exc:
        raise invalid("categories", str(exc)) from None
    except disnake.Forbidden:
        raise ApiError(
            403, "the bot may not post in that channel; check its permissions there", "channel_id"
        ) from None
    except disnake.HTTPException as exc:
        raise ApiError(502, f"Discord refused the panel: {exc.text}") from None
    return PanelPosted(channel_id=panel.channel_id, categories=[c.key for c in chosen])


async def create_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await require_admin(request, guild_param(request))
    panel = await body(request, PanelCreate)
    return json(await post_panel(deps_of(request), access, panel), status=201)


ROUTES = [
    ApiRoute(
        method="POST",
        path=f"{API}/admin/guilds/{{guild}}/panels",
        handler=create_handler,
        summary="Post a panel members open tickets from",
        body=PanelCreate,
        response=PanelPosted,
        status=201,
        tag="panels",
    ),
]
