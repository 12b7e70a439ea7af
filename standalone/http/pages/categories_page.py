"""Categories and their questions: add, reorder, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from standalone.http.pages.context import Pages
from standalone.http.pages.forms import Form
from standalone.http.pages.ports import GuildView, PageError, Viewer

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
    return fields


def question_fields(form: Form) -> dict[str, Any]:
    kind = form.choice("kind", ("short", "paragraph", "select"))
    options = [o.strip() for o in form.value("options").split(",") if o.strip()]
    if kind == "select":
        if not 1 <= len(options) <= 25:
            form.fail("options", "A menu needs 1 to 25 options, separated by commas.")
        elif any(len(o) > 100 for o in options):
            form.fail("options", "Each option can have at most 100 characters.")
    return {
        "label": form.text("label", required=True, max_len=45),
        "kind": "select" if kind == "select" else "text",
        "style": 2 if kind == "paragraph" else 1,
        "options": options if kind == "select" else [],
        "placeholder": form.text("placeholder", max_len=100),
        "required": form.flag("required"),
    }


class CategoriesPage:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    def routes(self) -> list[web.RouteDef]:
        cat = "/guilds/{guild}/categories/{category:[0-9a-f]{1,32}}"
        return [
            web.get("/guilds/{guild}/categories", self.show),
            web.post("/guilds/{guild}/categories", self.add),
            web.post(cat + "/delete", self.delete),
            web.get(cat, self.show_one),
            web.post(cat + "/questions", self.add_question),
            web.post(cat + "/questions/{question:[0-9a-f]{1,32}}/move", self.move_question),
            web.post(cat + "/questions/{question:[0-9a-f]{1,32}}/delete", self.delete_question),
        ]

    async def _start(self, request: web.Request) -> tuple[Viewer, GuildView]:
        viewer = await self.pages.viewer(request)
        return viewer, await self.pages.guild(request, viewer, admin=True)

    async def _render_list(
        self, request: web.Request, viewer: Viewer, guild: GuildView, form: Form, status: int = 200
    ) -> web.Response:
        port = self.pages.port
        categories = await port.categories(viewer, guild)
        roles = await port.roles(guild)
        counts = {c.key: len(await port.questions(viewer, guild, c.key)) for c in categories}
        return self.pages.page(
            request,
            "categories.html",
            status,
            user=viewer,
            guild=guild,
            section="categories",
            form=form,
            categories=categories,
            question_counts=counts,
            roles=[(r.id, f"@{r.name}") for r in roles],
            role_names={r.id: f"@{r.name}" for r in roles},
            parents=[(c.id, c.name) for c in await port.channel_categories(guild)],
            texts=[(c.id, f"#{c.name}") for c in await port.text_channels(guild)],
        )

    async def show(self, request: web.Request) -> web.Response:
        viewer, guild = await self._start(request)
        return await self._render_list(request, viewer, guild, new_category_form())

    async def add(self, request: web.Request) -> web.Response:
        viewer, guild = await self._start(request)
        form = Form.posted("category", await self.pages.posted(request, viewer), CATEGORY_FIELDS)
        port = self.pages.port
        fields = category_fields(
            form,
            [r.id for r in await port.roles(guild)],
            [c.id for c in await port.channel_categories(guild)],
            [c.id for c in await port.text_channels(guild)],
        )
        if form.ok:
            try:
                await port.create_category(viewer, guild, fields)
            except PageError as exc:
                form.refused(exc, CATEGORY_FIELDS, {})
            else:
                raise self.pages.back(f"/guilds/{guild.id}/categories", "category")
        return await self._render_list(request, viewer, guild, form, status=422)

    async def delete(self, request: web.Request) -> web.Response:
        viewer, guild = await self._start(request)
        await self.pages.posted(request, viewer)
        await self._call(
            self.pages.port.delete_category(viewer, guild, request.match_info["category"])
        )
        raise self.pages.back(f"/guilds/{guild.id}/categories", "category-deleted")

    async def _render_one(
        self, request: web.Request, viewer: Viewer, guild: GuildView, form: Form, status: int = 200
    ) -> web.Response:
        key = request.match_info["category"]
        categories = await self.pages.port.categories(viewer, guild)
        category = next((c for c in categories if c.key == key), None)
        if category is None:
            raise web.HTTPNotFound(text="No such category.")
        return self.pages.page(
            request,
            "category.html",
            status,
            user=viewer,
            guild=guild,
            section="categories",
            form=form,
            category=category,
            questions=await self.pages.port.questions(viewer, guild, key),
        )

    async def show_one(self, request: web.Request) -> web.Response:
        viewer, guild = await self._start(request)
        return await self._render_one(request, viewer, guild, new_question_form())

    async def add_question(self, request: web.Request) -> web.Response:
        viewer, guild = await self._start(request)
        form = Form.posted("question", await self.pages.posted(request, viewer), QUESTION_FIELDS)
        fields = question_fields(form)
        key = request.match_info["category"]
        if form.ok:
            try:
                await self.pages.port.add_question(viewer, guild, key, fields)
            except PageError as exc:
                form.refused(exc, QUESTION_FIELDS, {"style": "kind", "min_length": "label"})
            else:
                raise self.pages.back(f"/guilds/{guild.id}/categories/{key}", "question")
        return await self._render_one(request, viewer, guild, form, status=422)

    async def move_question(self, request: web.Request) -> web.Response:
        viewer, guild = await self._start(request)
        data = await self.pages.posted(request, viewer)
        offset = {"up": -1, "down": 1}.get(str(data.get("direction", "")))
        if offset is None:
            raise web.HTTPBadRequest(text="direction: up or down")
        key = request.match_info["category"]
        await self._call(
            self.pages.port.move_question(
                viewer, guild, key, request.match_info["question"], offset
            )
        )
        raise self.pages.back(f"/guilds/{guild.id}/categories/{key}", "question-moved")

    async def delete_question(self, request: web.Request) -> web.Response:
        viewer, guild = await self._start(request)
        await self.pages.posted(request, viewer)
        key = request.match_info["category"]
        await self._call(
            self.pages.port.delete_question(viewer, guild, key, request.match_info["question"])
        )
        raise self.pages.back(f"/guilds/{guild.id}/categories/{key}", "question-deleted")

    @staticmethod
    async def _call(change: Any) -> None:
        """A button's change; a refusal (gone already, say) is shown as a plain 4xx page."""
        try:
            await change
        except PageError as exc:
            raise web.HTTPConflict(text=str(exc)) from None
