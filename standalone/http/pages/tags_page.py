"""Tags: saved answers staff post in tickets."""

from __future__ import annotations

import re

from aiohttp import web

from standalone.http.errors import ApiError
from standalone.http.pages import backend
from standalone.http.pages.context import Here, back, here, html_errors, page, posted
from standalone.http.pages.errors import PageError
from standalone.http.pages.forms import Form

FIELDS = ("name", "content")
TAG_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
PATH = "/t/{tenant}/guilds/{guild}/tags"


def routes() -> list[web.RouteDef]:
    return [
        web.get(PATH, show),
        web.post(PATH, save),
        web.post(PATH + "/{tag:[A-Za-z0-9_-]{1,64}}/delete", delete),
    ]


async def _render(request: web.Request, at: Here, form: Form, status: int = 200) -> web.Response:
    return page(
        request,
        "tags.html",
        status,
        session=at.session,
        guild=at.guild,
        section="tags",
        form=form,
        tags=await backend.tags(at.deps, at.access),
    )


@html_errors
async def show(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    return await _render(request, at, Form("tag"))


@html_errors
async def save(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    form = Form.posted("tag", await posted(request, at.session), FIELDS)
    name = form.text("name", required=True, max_len=32)
    if name is not None and not TAG_NAME.fullmatch(name):
        form.fail("name", "Use lower-case letters, digits, - and _ (up to 32).")
    content = form.text("content", required=True, max_len=2000)
    if form.ok and name and content:
        try:
            await backend.save_tag(at.deps, at.access, name, content)
        except PageError as exc:
            form.refused(exc, FIELDS, {})
        else:
            raise back(request, f"/guilds/{at.guild.id}/tags", "tag")
    return await _render(request, at, form, status=422)


@html_errors
async def delete(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    await posted(request, at.session)
    try:
        await backend.delete_tag(at.deps, at.access, request.match_info["tag"])
    except PageError as exc:
        raise ApiError(409, str(exc).rstrip(".")) from None
    raise back(request, f"/guilds/{at.guild.id}/tags", "tag-deleted")
