"""Posting a panel (buttons or a menu that open tickets) to a channel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from standalone.http.pages import backend
from standalone.http.pages.context import Here, back, here, html_errors, page, posted
from standalone.http.pages.errors import PageError
from standalone.http.pages.forms import Form

FIELDS = ("channel", "categories", "title", "description", "style")
PATH = "/t/{tenant}/guilds/{guild}/panels"


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, show), web.post(PATH, post)]


async def _render(request: web.Request, at: Here, form: Form, status: int = 200) -> web.Response:
    channels = await backend.channels(at.deps, at.access, backend.TEXT_CHANNEL)
    categories = await backend.categories(at.deps, at.access)
    return page(
        request,
        "panels.html",
        status,
        session=at.session,
        guild=at.guild,
        section="panels",
        form=form,
        channels=[(c.id, f"#{c.name}") for c in channels],
        categories=[(c.key, c.name) for c in categories],
    )


@html_errors
async def show(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    return await _render(request, at, Form.filled("panel", {"style": "buttons"}))


@html_errors
async def post(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    form = Form.posted("panel", await posted(request, at.session), FIELDS)
    channels = await backend.channels(at.deps, at.access, backend.TEXT_CHANNEL)
    categories = await backend.categories(at.deps, at.access)
    fields: dict[str, Any] = {
        "channel_id": form.choice("channel", [c.id for c in channels]),
        "categories": form.subset("categories", [c.key for c in categories]),
        "title": form.text("title", max_len=256),
        "description": form.text("description", max_len=4000),
        "style": form.choice("style", ("buttons", "menu")),
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    if not categories:
        form.fail("categories", "Add a category first.")
    if form.ok:
        try:
            await backend.post_panel(at.deps, at.access, fields)
        except PageError as exc:
            form.refused(exc, FIELDS, {"channel_id": "channel"})
        else:
            raise back(request, f"/guilds/{at.guild.id}/panels", "panel")
    return await _render(request, at, form, status=422)
