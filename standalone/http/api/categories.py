"""Ticket categories: list, create, read, change, delete (the rules of ``/category``).

A new category in channel mode without a Discord category gets one made by the
bot, as ``/category create`` does; if Discord refuses, the new row is removed
again, so nothing is left half-made. At most 25 categories per server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import disnake
import msgspec
from aiohttp import web

from standalone.db.records import Category, Question
from standalone.db.settings import SettingsError, SettingsRepository
from standalone.http.access import GuildAccess, require_admin
from standalone.http.api.base import (
    API,
    ApiRoute,
    body,
    guild_param,
    json,
    key_param,
    no_content,
    write_guard,
)
from standalone.http.api.changes_log import log_change
from standalone.http.api.fields import Duration, Snowflake, changes_of, settings_error
from standalone.http.api.refs import ANNOUNCEMENT, CATEGORY, TEXT, GuildRefs
from standalone.http.deps import HttpDeps, deps_of
from standalone.http.errors import ApiError, invalid, not_found
from standalone.tickets.channel_categories import guild_categories_locked, made_category
from standalone.tickets.errors import TicketError

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
Roles = Annotated[list[Snowflake], msgspec.Meta(max_length=250)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


class CategoryFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A category's settings; leave a field out to keep it (or take the default)."""

    staff_roles: Roles | Unset = UNSET
    ping_roles: Roles | Unset = UNSET
    required_roles: Roles | Unset = UNSET
    blocked_roles: Roles | Unset = UNSET
    discord_category: Snowflake | Unset | None = UNSET
    mode: Literal["channel", "thread"] | Unset = UNSET
    thread_channel: Snowflake | Unset | None = UNSET
    channel_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | Unset = UNSET
    opening_message: Annotated[str, msgspec.Meta(max_length=4000)] | Unset = UNSET
    description: Annotated[str, msgspec.Meta(max_length=100)] | Unset | None = UNSET
    emoji: Annotated[str, msgspec.Meta(max_length=64)] | Unset | None = UNSET
    image: Annotated[str, msgspec.Meta(pattern=r"^https://", max_length=2000)] | Unset | None = (
        UNSET
    )
    claiming: bool | Unset = UNSET
    feedback: bool | Unset = UNSET
    member_limit: Annotated[int, msgspec.Meta(ge=1, le=50)] | Unset = UNSET
    total_limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] | Unset = UNSET
    cooldown_ms: Duration | Unset | None = UNSET
    slowmode_s: Annotated[int, msgspec.Meta(ge=0, le=21600)] | Unset | None = UNSET
    require_topic: bool | Unset = UNSET
    auto_close_ms: Duration | Unset | None = UNSET
    stale_after_ms: Duration | Unset | None = UNSET
    archive: bool | Unset | None = UNSET
    position: Annotated[int, msgspec.Meta(ge=0, le=1000)] | Unset = UNSET


class CategoryCreate(CategoryFields, kw_only=True):
    """A new category: a name, and any settings."""

    name: Name


class CategoryPatch(CategoryFields, kw_only=True):
    """Changes to a category."""

    name: Name | Unset = UNSET
    custom_topic: Annotated[str, msgspec.Meta(max_length=32)] | Unset | None = UNSET


class CategoryDetail(msgspec.Struct, kw_only=True):
    """A category with its questions, in form order."""

    category: Category
    questions: list[Question]


def _now_snowflake() -> int:
    # made_category adopts only channels newer than this id (see its docstring).
    return disnake.utils.time_snowflake(datetime.now(UTC))


async def _check(
    deps: HttpDeps, access: GuildAccess, changes: dict[str, Any], current: Category | None
) -> None:
    refs = GuildRefs(deps, access.tenant, access.guild_id)
    for field in ("staff_roles", "ping_roles", "required_roles", "blocked_roles"):
        if field in changes:
            await refs.check_roles(field, changes[field])
    await refs.check_channel("discord_category", changes.get("discord_category"), {CATEGORY})
    await refs.check_channel("thread_channel", changes.get("thread_channel"), {TEXT, ANNOUNCEMENT})
    mode = changes.get("mode", current.mode if current else "channel")
    thread = changes.get("thread_channel", current.thread_channel if current else None)
    if mode == "thread" and thread is None:
        raise invalid("thread_channel", "thread mode needs a channel to hold the threads")
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise invalid("name", "must not be blank")


async def list_categories(deps: HttpDeps, access: GuildAccess) -> list[Category]:
    return await SettingsRepository(deps.db, access.tenant).categories(access.guild_id)


async def get_category(deps: HttpDeps, access: GuildAccess, key: str) -> CategoryDetail:
    repo = SettingsRepository(deps.db, access.tenant)
    category = await repo.category(access.guild_id, key)
    if category is None:
        raise not_found("category")
    return CategoryDetail(category=category, questions=await repo.questions(key))


async def create_category(deps: HttpDeps, access: GuildAccess, new: CategoryCreate) -> Category:
    """Add a category (and its Discord category, when it needs one and none was given)."""
    fields = changes_of(new)
    await _check(deps, access, fields, None)
    name = fields.pop("name")
    ctx = await deps.bots.context(access.tenant)
    marker = _now_snowflake()
    try:
        async with guild_categories_locked(ctx, access.guild_id, marker):
            made = await ctx.settings.create_category(access.guild_id, name, **fields)
    except SettingsError as exc:
        raise settings_error(exc) from None
    except TicketError as exc:
        raise ApiError(409, str(exc)) from None
    if made.mode == "channel" and made.discord_category is None:
        try:
            channel = await made_category(ctx, int(access.guild_id), made, marker)
        except disnake.HTTPException as exc:
            await ctx.settings.delete_category(access.guild_id, made.key)
            raise ApiError(502, f"Discord refused the channel category: {exc.text}") from None
        except BaseException:
            await ctx.settings.delete_category(access.guild_id, made.key)
            raise
        made = await ctx.settings.update_category(
            access.guild_id, made.key, discord_category=channel
        )
    await log_change(deps, access, None, made, what=made.name)
    return made


async def update_category(
    deps: HttpDeps, access: GuildAccess, key: str, patch: CategoryPatch
) -> Category:
    repo = SettingsRepository(deps.db, access.tenant)
    current = await repo.category(access.guild_id, key)
    if current is None:
        raise not_found("category")
    changes = changes_of(patch)
    await _check(deps, access, changes, current)
    topic = changes.get("custom_topic")
    if topic is not None and topic not in {q.key for q in await repo.questions(key)}:
        raise invalid("custom_topic", "no question of this category has that key")
    if "name" in changes:
        others = await repo.categories(access.guild_id)
        if any(c.key != key and c.name.lower() == changes["name"].lower() for c in others):
            raise ApiError(409, f"a category named {changes['name']!r} exists already", "name")
    try:
        updated = await repo.update_category(access.guild_id, key, **changes)
    except SettingsError as exc:
        raise settings_error(exc) from None
    await log_change(deps, access, current, updated, what=updated.name)
    return updated


async def delete_category(deps: HttpDeps, access: GuildAccess, key: str) -> None:
    """Remove the category and its questions; its tickets keep their history."""
    repo = SettingsRepository(deps.db, access.tenant)
    current = await repo.category(access.guild_id, key)
    if current is None or not await repo.delete_category(access.guild_id, key):
        raise not_found("category")
    await log_change(deps, access, current, None, what=current.name)


async def _admin(request: web.Request) -> GuildAccess:
    return await require_admin(request, guild_param(request))


async def list_handler(request: web.Request) -> web.Response:
    return json(await list_categories(deps_of(request), await _admin(request)))


async def create_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    new = await body(request, CategoryCreate)
    return json(await create_category(deps_of(request), access, new), status=201)


async def get_handler(request: web.Request) -> web.Response:
    access = await _admin(request)
    return json(await get_category(deps_of(request), access, key_param(request, "category")))


async def patch_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    patch = await body(request, CategoryPatch)
    key = key_param(request, "category")
    return json(await update_category(deps_of(request), access, key, patch))


async def delete_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    await delete_category(deps_of(request), access, key_param(request, "category"))
    return no_content()


LIST = f"{API}/admin/guilds/{{guild}}/categories"
ONE = f"{LIST}/{{category}}"
ROUTES = [
    ApiRoute(
        method="GET",
        path=LIST,
        handler=list_handler,
        summary="The server's ticket categories, in panel order",
        response=list[Category],
        tag="categories",
    ),
    ApiRoute(
        method="POST",
        path=LIST,
        handler=create_handler,
        summary="Add a ticket category (at most 25)",
        body=CategoryCreate,
        response=Category,
        status=201,
        tag="categories",
    ),
    ApiRoute(
        method="GET",
        path=ONE,
        handler=get_handler,
        summary="A category with its questions",
        response=CategoryDetail,
        tag="categories",
    ),
    ApiRoute(
        method="PATCH",
        path=ONE,
        handler=patch_handler,
        summary="Change a category",
        body=CategoryPatch,
        response=Category,
        tag="categories",
    ),
    ApiRoute(
        method="DELETE",
        path=ONE,
        handler=delete_handler,
        summary="Delete a category and its questions",
        status=204,
        tag="categories",
    ),
]
