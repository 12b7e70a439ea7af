"""Categories and their questions: add, reorder, delete."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from standalone.http.errors import ApiError
from standalone.http.pages import backend
from standalone.http.pages.context import Here, back, here, html_errors, page, posted
from standalone.http.pages.errors import PageError
from standalone.http.pages.forms import Form

CATEGORY_FIELDS = (
    "name",
    "description",
    "staff_roles",
    "mode",
    "discord_category",
    "thread_channel",
    "channel_name",
    "opening_message",
    "member_limit",
)
QUESTION_FIELDS = ("label", "kind", "options", "placeholder", "required")
DEFAULT_OPENING = "Thanks for opening a ticket, {username}. Staff will be with you soon."


def new_category_form() -> Form:
    return Form.filled(
        "category",
        {
            "mode": "channel",
            "channel_name": "ticket-{num}",
            "opening_message": DEFAULT_OPENING,
            "member_limit": "1",
        },
    )


def new_question_form() -> Form:
    return Form.filled("question", {"kind": "short", "required": "on"})


def category_fields(form: Form, roles: list[str], parents: list[str], texts: list[str]) -> Any:
    mode = form.choice("mode", ("channel", "thread"))
    fields: dict[str, Any] = {
        "name": form.text("name", required=True, max_len=50),
        "description": form.text("description", max_len=100),
        "staff_roles": form.subset("staff_roles", roles),
        "mode": mode,
        "channel_name": form.text("channel_name", required=True, max_len=100),
        "opening_message": form.text("opening_message", required=True, max_len=4000),
        "member_limit": form.integer("member_limit", 1, 50),
    }
    if mode == "thread":
        fields["thread_channel"] = form.choice("thread_channel", texts)
    else:
        # Blank: the services make a Discord category named after this one.
        fields["discord_category"] = form.choice("discord_category", parents, blank=True)
    # Left out rather than null: the API then takes its defaults.
    return {k: v for k, v in fields.items() if v is not None}


def question_fields(form: Form) -> dict[str, Any]:
    kind = form.choice("kind", ("short", "paragraph", "select"))
    options = [o.strip() for o in form.value("options").split(",") if o.strip()]
    if kind == "select":
        if not 1 <= len(options) <= 25:
            form.fail("options", "A menu needs 1 to 25 options, separated by commas.")
        elif any(len(o) > 100 for o in options):
            form.fail("options", "Each option can have at most 100 characters.")
    fields = {
        "label": form.text("label", required=True, max_len=45),
        "kind": "select" if kind == "select" else "text",
        "style": 2 if kind == "paragraph" else 1,
        "options": options if kind == "select" else [],
        "placeholder": form.text("placeholder", max_len=100),
        "required": form.flag("required"),
    }
    return {k: v for k, v in fields.items() if v is not None}


GUILD = "/t/{tenant}/guilds/{guild}/categories"
ONE = GUILD + "/{category:[0-9a-f]{1,32}}"
QUESTION = ONE + "/questions/{question:[0-9a-f]{1,32}}"


def routes() -> list[web.RouteDef]:
    return [
        web.get(GUILD, show),
        web.post(GUILD, add),
        web.get(ONE, show_one),
        web.post(ONE + "/delete", delete),
        web.post(ONE + "/questions", add_question),
        web.post(QUESTION + "/move", move_question),
        web.post(QUESTION + "/delete", delete_question),
    ]


async def _render_list(
    request: web.Request, at: Here, form: Form, status: int = 200
) -> web.Response:
    deps, access = at.deps, at.access
    categories = await backend.categories(deps, access)
    roles = await backend.roles(deps, access)
    counts = {c.key: len(await backend.questions(deps, access, c.key)) for c in categories}
    parents = await backend.channels(deps, access, backend.CATEGORY_CHANNEL)
    texts = await backend.channels(deps, access, backend.TEXT_CHANNEL)
    return page(
        request,
        "categories.html",
        status,
        session=at.session,
        guild=at.guild,
        section="categories",
        form=form,
        categories=categories,
        question_counts=counts,
        roles=[(r.id, f"@{r.name}") for r in roles],
        role_names={r.id: f"@{r.name}" for r in roles},
        parents=[(c.id, c.name) for c in parents],
        texts=[(c.id, f"#{c.name}") for c in texts],
    )


@html_errors
async def show(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    return await _render_list(request, at, new_category_form())


@html_errors
async def add(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    form = Form.posted("category", await posted(request, at.session), CATEGORY_FIELDS)
    deps, access = at.deps, at.access
    fields = category_fields(
        form,
        [r.id for r in await backend.roles(deps, access)],
        [c.id for c in await backend.channels(deps, access, backend.CATEGORY_CHANNEL)],
        [c.id for c in await backend.channels(deps, access, backend.TEXT_CHANNEL)],
    )
    if form.ok:
        try:
            await backend.create_category(deps, access, fields)
        except PageError as exc:
            form.refused(exc, CATEGORY_FIELDS, {})
        else:
            raise back(request, f"/guilds/{at.guild.id}/categories", "category")
    return await _render_list(request, at, form, status=422)


@html_errors
async def delete(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    await posted(request, at.session)
    await _button(backend.delete_category(at.deps, at.access, request.match_info["category"]))
    raise back(request, f"/guilds/{at.guild.id}/categories", "category-deleted")


async def _render_one(
    request: web.Request, at: Here, form: Form, status: int = 200
) -> web.Response:
    key = request.match_info["category"]
    categories = await backend.categories(at.deps, at.access)
    category = next((c for c in categories if c.key == key), None)
    if category is None:
        raise ApiError(404, "no such category")
    return page(
        request,
        "category.html",
        status,
        session=at.session,
        guild=at.guild,
        section="categories",
        form=form,
        category=category,
        questions=await backend.questions(at.deps, at.access, key),
    )


@html_errors
async def show_one(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    return await _render_one(request, at, new_question_form())


@html_errors
async def add_question(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    form = Form.posted("question", await posted(request, at.session), QUESTION_FIELDS)
    fields = question_fields(form)
    key = request.match_info["category"]
    if form.ok:
        try:
            await backend.add_question(at.deps, at.access, key, fields)
        except PageError as exc:
            form.refused(exc, QUESTION_FIELDS, {"style": "kind", "min_length": "label"})
        else:
            raise back(request, f"/guilds/{at.guild.id}/categories/{key}", "question")
    return await _render_one(request, at, form, status=422)


@html_errors
async def move_question(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    data = await posted(request, at.session)
    offset = {"up": -1, "down": 1}.get(str(data.get("direction", "")))
    if offset is None:
        raise ApiError(400, "direction must be up or down")
    key = request.match_info["category"]
    question = request.match_info["question"]
    await _button(backend.move_question(at.deps, at.access, key, question, offset))
    raise back(request, f"/guilds/{at.guild.id}/categories/{key}", "question-moved")


@html_errors
async def delete_question(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    await posted(request, at.session)
    key = request.match_info["category"]
    question = request.match_info["question"]
    await _button(backend.delete_question(at.deps, at.access, key, question))
    raise back(request, f"/guilds/{at.guild.id}/categories/{key}", "question-deleted")


async def _button(change: Awaitable[None]) -> None:
    """A button's change; a refusal (gone already, say) is a 409 page."""
    try:
        await change
    except PageError as exc:
        raise ApiError(409, str(exc).rstrip(".")) from None
