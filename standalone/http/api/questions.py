"""A category's questions: add (at most five), change, reorder, delete (rules of ``/question``).

Changes to one category's questions are serialised with the same lock as the
slash commands, so two admins adding at once cannot make six.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

import msgspec
from aiohttp import web

from standalone import keys
from standalone.db.records import Question
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
from standalone.http.api.fields import changes_of, settings_error
from standalone.http.deps import HttpDeps, deps_of
from standalone.http.errors import ApiError, invalid, not_found
from standalone.tickets import locks

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
QUESTION_LOCK_MS = 10_000
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=45)]
Options = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]], msgspec.Meta(max_length=25)
]
Length = Annotated[int, msgspec.Meta(ge=0, le=4000)]


class QuestionFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A question's settings; ``kind`` select needs ``options``."""

    kind: Literal["text", "select"] | Unset = UNSET
    style: Literal[1, 2] | Unset = UNSET
    placeholder: Annotated[str, msgspec.Meta(max_length=100)] | Unset | None = UNSET
    required: bool | Unset = UNSET
    min_length: Length | Unset = UNSET
    max_length: Annotated[int, msgspec.Meta(ge=1, le=4000)] | Unset = UNSET
    options: Options | Unset = UNSET
    use_as_topic: bool | Unset = UNSET


class QuestionCreate(QuestionFields, kw_only=True):
    label: Label


class QuestionPatch(QuestionFields, kw_only=True):
    label: Label | Unset = UNSET


class QuestionOrder(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Every question key of the category, in the new order."""

    keys: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=5)]


async def _category_key(deps: HttpDeps, access: GuildAccess, key: str) -> str:
    repo = SettingsRepository(deps.db, access.tenant)
    if await repo.category(access.guild_id, key) is None:
        raise not_found("category")
    return key


async def _save(
    deps: HttpDeps,
    access: GuildAccess,
    category: str,
    fields: dict[str, Any],
    question: str | None,
) -> Question:
    repo = SettingsRepository(deps.db, access.tenant)
    use_as_topic = fields.pop("use_as_topic", None)
    lock = keys.question_lock(access.tenant, access.guild_id, category)
    try:
        async with locks.held(
            deps.coordination.cache,
            lock,
            secrets.token_hex(8),
            ttl_ms=QUESTION_LOCK_MS,
            wait_s=5.0,
        ):
            existing = await repo.questions(category)
            current = None
            if question is not None:
                current = next((q for q in existing if q.key == question), None)
                if current is None:
                    raise not_found("question")
                fields["key"] = question
            label = str(fields.pop("label", current.label if current else ""))
            merged_kind = fields.get("kind", current.kind if current else "text")
            merged_options = fields.get("options", current.options if current else [])
            if merged_kind == "select" and not merged_options:
                raise invalid("options", "a menu question needs 1 to 25 options")
            low = fields.get("min_length", current.min_length if current else 0)
            high = fields.get("max_length", current.max_length if current else 1000)
            if low > high:
                raise invalid("min_length", "must not be more than max_length")
            saved = await repo.save_question(category, label.strip(), **fields)
            if use_as_topic is not None:
                cat = await repo.category(access.guild_id, category)
                if use_as_topic:
                    await repo.update_category(access.guild_id, category, custom_topic=saved.key)
                elif cat is not None and cat.custom_topic == saved.key:
                    await repo.update_category(access.guild_id, category, custom_topic=None)
    except SettingsError as exc:
        raise settings_error(exc) from None
    except locks.Busy:
        raise ApiError(409, "the questions of this category are being changed; try again") from None
    return saved


async def list_questions(deps: HttpDeps, access: GuildAccess, category: str) -> list[Question]:
    key = await _category_key(deps, access, category)
    return await SettingsRepository(deps.db, access.tenant).questions(key)


async def add_question(
    deps: HttpDeps, access: GuildAccess, category: str, new: QuestionCreate
) -> Question:
    key = await _category_key(deps, access, category)
    return await _save(deps, access, key, changes_of(new), None)


async def update_question(
    deps: HttpDeps, access: GuildAccess, category: str, question: str, patch: QuestionPatch
) -> Question:
    key = await _category_key(deps, access, category)
    return await _save(deps, access, key, changes_of(patch), question)


async def reorder_questions(
    deps: HttpDeps, access: GuildAccess, category: str, order: QuestionOrder
) -> list[Question]:
    key = await _category_key(deps, access, category)
    try:
        return await SettingsRepository(deps.db, access.tenant).reorder_questions(key, order.keys)
    except SettingsError as exc:
        raise settings_error(exc) from None


async def delete_question(
    deps: HttpDeps, access: GuildAccess, category: str, question: str
) -> None:
    key = await _category_key(deps, access, category)
    repo = SettingsRepository(deps.db, access.tenant)
    if not await repo.remove_question(key, question):
        raise not_found("question")
    current = await repo.category(access.guild_id, key)
    if current is not None and current.custom_topic == question:
        await repo.update_category(access.guild_id, key, custom_topic=None)


async def _admin(request: web.Request) -> GuildAccess:
    return await require_admin(request, guild_param(request))


async def list_handler(request: web.Request) -> web.Response:
    access = await _admin(request)
    return json(await list_questions(deps_of(request), access, key_param(request, "category")))


async def create_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    new = await body(request, QuestionCreate)
    made = await add_question(deps_of(request), access, key_param(request, "category"), new)
    return json(made, status=201)


async def patch_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    patch = await body(request, QuestionPatch)
    return json(
        await update_question(
            deps_of(request),
            access,
            key_param(request, "category"),
            key_param(request, "question"),
            patch,
        )
    )


async def order_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    order = await body(request, QuestionOrder)
    return json(
        await reorder_questions(deps_of(request), access, key_param(request, "category"), order)
    )


async def delete_handler(request: web.Request) -> web.Response:
    await write_guard(request)
    access = await _admin(request)
    await delete_question(
        deps_of(request), access, key_param(request, "category"), key_param(request, "question")
    )
    return no_content()


LIST = f"{API}/admin/guilds/{{guild}}/categories/{{category}}/questions"
ONE = f"{LIST}/{{question}}"
ROUTES = [
    ApiRoute(
        method="GET",
        path=LIST,
        handler=list_handler,
        summary="A category's questions, in form order",
        response=list[Question],
        tag="questions",
    ),
    ApiRoute(
        method="POST",
        path=LIST,
        handler=create_handler,
        summary="Add a question (at most five per category)",
        body=QuestionCreate,
        response=Question,
        status=201,
        tag="questions",
    ),
    ApiRoute(
        method="PUT",
        path=f"{API}/admin/guilds/{{guild}}/categories/{{category}}/question-order",
        handler=order_handler,
        summary="Reorder a category's questions",
        body=QuestionOrder,
        response=list[Question],
        tag="questions",
    ),
    ApiRoute(
        method="PATCH",
        path=ONE,
        handler=patch_handler,
        summary="Change a question",
        body=QuestionPatch,
        response=Question,
        tag="questions",
    ),
    ApiRoute(
        method="DELETE",
        path=ONE,
        handler=delete_handler,
        summary="Delete a question",
        status=204,
        tag="questions",
    ),
]
