"""Tags: list, create, read, change, delete (the commands that post them come later)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from standalone.db.tags import MAX_CONTENT, MAX_NAME, MAX_PATTERN, Tag, TagError, TagRepository
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
from standalone.http.api.fields import changes_of
from standalone.http.deps import HttpDeps, deps_of
from standalone.http.errors import ApiError, invalid, not_found

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
Content = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CONTENT)]
Pattern = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PATTERN)]


class TagCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new tag; ``regex`` (optional) makes it answer matching messages by itself."""

    name: Name
    content: Content
    regex: Pattern | None = None


class TagPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | Unset = UNSET
    content: Content | Unset = UNSET
    regex: Pattern | Unset | None = UNSET


def _error(exc: TagError) -> ApiError:
    field, _, message = str(exc).partition(": ")
    if "exists already" in message:
        return ApiError(409, message, field)
    return invalid(field, message)


async def list_tags(deps: HttpDeps, access: GuildAccess) -> list[Tag]:
    return await TagRepository(deps.db, access.tenant).list(access.guild_id)


async def get_tag(deps: HttpDeps, access: GuildAccess, key: str) -> Tag:
    tag = await TagRepository(deps.db, access.tenant).get(access.guild_id, key)
    if tag is None:
        raise not_found("tag")
    return tag


async def create_tag(deps: HttpDeps, access: GuildAccess, new: TagCreate) -> Tag:
    try:
        return await TagRepository(deps.db, access.tenant).create(
            access.guild_id, new.name.strip(), new.content, new.regex
        )
    except TagError as exc:
        raise _error(exc) from None


async def update_tag(deps: HttpDeps, access: GuildAccess, key: str, patch: TagPatch) -> Tag:
    changes = changes_of(patch)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    try:
        tag = await TagRepository(deps.db, access.tenant).update(access.guild_id, key, **changes)
    except TagError as exc:
        raise _error(exc) from None
    if tag is None:
        raise not_found("tag")
    return tag


async def delete_tag(deps: HttpDeps, access: GuildAccess, key: str) -> None:
    if not await TagRepository(deps.db, access.tenant).delete(access.guild_id, key):
        raise not_found("tag")


async def _admin(request: web.Request) -> GuildAccess:
    return await require_admin(request, guild_param(request))


async def list_handler(request: web.Request) -> web.Response:
    return json(await list_tags(deps_of(request), await _admin(request)))


async def create_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    new = await body(request, TagCreate)
    return json(await create_tag(deps_of(request), access, new), status=201)


async def get_handler(request: web.Request) -> web.Response:
    access = await _admin(request)
    return json(await get_tag(deps_of(request), access, key_param(request, "tag")))


async def patch_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    patch = await body(request, TagPatch)
    return json(await update_tag(deps_of(request), access, key_param(request, "tag"), patch))


async def delete_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    await delete_tag(deps_of(request), access, key_param(request, "tag"))
    return no_content()


LIST = f"{API}/admin/guilds/{{guild}}/tags"
ONE = f"{LIST}/{{tag}}"
ROUTES = [
    ApiRoute(
        method="GET",
        path=LIST,
        handler=list_handler,
        summary="The server's tags",
        response=list[Tag],
        tag="tags",
    ),
    ApiRoute(
        method="POST",
        path=LIST,
        handler=create_handler,
        summary="Add a tag",
        body=TagCreate,
        response=Tag,
        status=201,
        tag="tags",
    ),
    ApiRoute(
        method="GET",
        path=ONE,
        handler=get_handler,
        summary="One tag",
        response=Tag,
        tag="tags",
    ),
    ApiRoute(
        method="PATCH",
        path=ONE,
        handler=patch_handler,
        summary="Change a tag",
        body=TagPatch,
        response=Tag,
        tag="tags",
    ),
    ApiRoute(
        method="DELETE",
        path=ONE,
        handler=delete_handler,
        summary="Delete a tag",
        status=204,
        tag="tags",
    ),
]
