"""What the pages read and change: the JSON API's own service functions, and its errors
turned into messages a form shows next to the field they name.

Every call takes the caller's ``GuildAccess`` (decided by ``standalone.http.access``
from the bot's current view), so a page reaches exactly what the API would let the
same person reach.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import msgspec

from standalone.db.records import Category, GuildSettings, Question
from standalone.db.tags import Tag
from standalone.http.access import GuildAccess
from standalone.http.api import categories as categories_api
from standalone.http.api import panels as panels_api
from standalone.http.api import questions as questions_api
from standalone.http.api import settings as settings_api
from standalone.http.api import tags as tags_api
from standalone.http.api import tickets as tickets_api
from standalone.http.api.guilds import list_guilds
from standalone.http.api.refs import CATEGORY, TEXT
from standalone.http.deps import HttpDeps
from standalone.http.discord_api import DiscordRefused, DiscordUnavailable
from standalone.http.errors import ApiError, from_validation
from standalone.http.pages.errors import PageError
from standalone.http.sessions import Session

TEXT_CHANNEL = TEXT
CATEGORY_CHANNEL = CATEGORY
T = TypeVar("T")
# What a form can fix; any other refusal (403, 404, 502…) becomes an error page.
_FORM_STATUSES = {400, 409, 422}


class ServerChoice(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    admin: bool


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    """A role or channel offered in a form."""

    id: str
    name: str


async def _form_call(call: Awaitable[T]) -> T:
    """Run a service call; a refusal a form can show is raised as PageError."""
    try:
        return await call
    except ApiError as exc:
        # A refusal that names a field (the bot may not post in that channel, say) is
        # the form's to show too.
        if exc.status not in _FORM_STATUSES and not (exc.field and exc.status < 500):
            raise
        # "blocked_roles.0" is about the blocked_roles input.
        raise PageError(exc.message, (exc.field or "").split(".")[0]) from None


def _body(kind: type[T], fields: dict[str, Any]) -> T:
    """Build a request body the way the API decodes one (its limits are checked here)."""
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        error = from_validation(exc)
        raise PageError(error.message, (error.field or "").split(".")[0]) from None


async def servers(deps: HttpDeps, session: Session) -> list[ServerChoice]:
    return [
        ServerChoice(id=g.id, name=g.name, admin=g.level >= 2)
        for g in await list_guilds(deps, session, admin_only=False)
        if g.bot_added
    ]


async def _bot_token(deps: HttpDeps, access: GuildAccess) -> str:
    tenant = await deps.tenants.get(access.tenant)
    if tenant is None:
        raise ApiError(404, "no such bot")
    return deps.tenants.token(tenant)


async def roles(deps: HttpDeps, access: GuildAccess) -> list[Choice]:
    """The server's roles as the bot sees them, @everyone left out."""
    try:
        found = await deps.discord.roles(await _bot_token(deps, access), access.guild_id)
    except (DiscordRefused, DiscordUnavailable):
        raise ApiError(502, "cannot read the server's roles from Discord") from None
    return sorted(
        (Choice(id=r.id, name=r.name) for r in found if r.id != access.guild_id),
        key=lambda c: c.name.lower(),
    )


async def channels(deps: HttpDeps, access: GuildAccess, kind: int) -> list[Choice]:
    """Text channels (``TEXT_CHANNEL``) or channel categories (``CATEGORY_CHANNEL``)."""
    try:
        found = await deps.discord.channels(await _bot_token(deps, access), access.guild_id)
    except (DiscordRefused, DiscordUnavailable):
        raise ApiError(502, "cannot read the server's channels from Discord") from None
    return sorted(
        (Choice(id=c.id, name=c.name or c.id) for c in found if c.type == kind),
        key=lambda c: c.name.lower(),
    )


async def settings(deps: HttpDeps, access: GuildAccess) -> GuildSettings:
    return await settings_api.get_settings(deps, access)


async def update_settings(
    deps: HttpDeps, access: GuildAccess, changes: dict[str, Any]
) -> GuildSettings:
    patch = _body(settings_api.SettingsPatch, changes)
    return await _form_call(settings_api.update_settings(deps, access, patch))


async def categories(deps: HttpDeps, access: GuildAccess) -> list[Category]:
    return await categories_api.list_categories(deps, access)


async def create_category(deps: HttpDeps, access: GuildAccess, fields: dict[str, Any]) -> Category:
    new = _body(categories_api.CategoryCreate, fields)
    return await _form_call(categories_api.create_category(deps, access, new))


async def delete_category(deps: HttpDeps, access: GuildAccess, key: str) -> None:
    await categories_api.delete_category(deps, access, key)


async def questions(deps: HttpDeps, access: GuildAccess, category: str) -> list[Question]:
    return await questions_api.list_questions(deps, access, category)


async def add_question(
    deps: HttpDeps, access: GuildAccess, category: str, fields: dict[str, Any]
) -> Question:
    new = _body(questions_api.QuestionCreate, fields)
    return await _form_call(questions_api.add_question(deps, access, category, new))


async def move_question(
    deps: HttpDeps, access: GuildAccess, category: str, key: str, offset: int
) -> None:
    """Swap a question with its neighbour (a no-op at either end)."""
    order = [q.key for q in await questions(deps, access, category)]
    if key not in order:
        raise ApiError(404, "no such question")
    at, to = order.index(key), order.index(key) + offset
    if not 0 <= to < len(order):
        return
    order[at], order[to] = order[to], order[at]
    body = questions_api.QuestionOrder(keys=order)
    await _form_call(questions_api.reorder_questions(deps, access, category, body))


async def delete_question(deps: HttpDeps, access: GuildAccess, category: str, key: str) -> None:
    await questions_api.delete_question(deps, access, category, key)


async def tags(deps: HttpDeps, access: GuildAccess) -> list[Tag]:
    return await tags_api.list_tags(deps, access)


async def save_tag(deps: HttpDeps, access: GuildAccess, name: str, content: str) -> Tag:
    new = _body(tags_api.TagCreate, {"name": name, "content": content})
    return await _form_call(tags_api.create_tag(deps, access, new))


async def delete_tag(deps: HttpDeps, access: GuildAccess, key: str) -> None:
    await tags_api.delete_tag(deps, access, key)


async def post_panel(deps: HttpDeps, access: GuildAccess, fields: dict[str, Any]) -> None:
    body = _body(panels_api.PanelCreate, fields)
    await _form_call(panels_api.post_panel(deps, access, body))


async def tickets(
    deps: HttpDeps, access: GuildAccess, query: str, state: str | None
) -> list[tickets_api.TicketSummary]:
    return await tickets_api.search_tickets(deps, access, query=query, state=state)


async def transcript(deps: HttpDeps, access: GuildAccess, number: int) -> bytes:
    """The stored HTML transcript; 404 unless the caller may see it and one was kept."""
    return await tickets_api.transcript_html(deps, access, str(number))
