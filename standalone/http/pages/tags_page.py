"""Tags: saved answers staff post in tickets."""

from __future__ import annotations

import re

from aiohttp import web

from standalone.http.pages.context import Pages
from standalone.http.pages.forms import Form
from standalone.http.pages.ports import GuildView, PageError, Viewer

FIELDS = ("name", "content")
TAG_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


class TagsPage:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/guilds/{guild}/tags", self.show),
            web.post("/guilds/{guild}/tags", self.save),
            web.post("/guilds/{guild}/tags/{tag}/delete", self.delete),
        ]

    async def _render(
        self, request: web.Request, viewer: Viewer, guild: GuildView, form: Form, status: int = 200
    ) -> web.Response:
        return self.pages.page(
            request,
            "tags.html",
            status,
            user=viewer,
            guild=guild,
            section="tags",
            form=form,
            tags=await self.pages.port.tags(viewer, guild),
        )

    async def show(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=True)
        return await self._render(request, viewer, guild, Form("tag"))

    async def save(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=True)
        form = Form.posted("tag", await self.pages.posted(request, viewer), FIELDS)
        name = form.text("name", required=True, max_len=32)
        if name is not None and not TAG_NAME.fullmatch(name):
            form.fail("name", "Use lower-case letters, digits and dashes (up to 32).")
        content = form.text("content", required=True, max_len=2000)
        if form.ok and name and content:
            try:
                await self.pages.port.save_tag(viewer, guild, name, content)
            except PageError as exc:
                form.refused(exc, FIELDS, {})
            else:
                raise self.pages.back(f"/guilds/{guild.id}/tags", "tag")
        return await self._render(request, viewer, guild, form, status=422)

    async def delete(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=True)
        await self.pages.posted(request, viewer)
        try:
            await self.pages.port.delete_tag(viewer, guild, request.match_info["tag"])
        except PageError as exc:
            raise web.HTTPConflict(text=str(exc)) from None
        raise self.pages.back(f"/guilds/{guild.id}/tags", "tag-deleted")
