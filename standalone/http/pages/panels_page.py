"""Posting a panel (buttons or a menu that open tickets) to a channel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from standalone.http.pages.context import Pages
from standalone.http.pages.forms import Form
from standalone.http.pages.ports import GuildView, PageError, Viewer

FIELDS = ("channel", "categories", "title", "description", "style")


class PanelsPage:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/guilds/{guild}/panels", self.show),
            web.post("/guilds/{guild}/panels", self.post),
        ]

    async def _render(
        self, request: web.Request, viewer: Viewer, guild: GuildView, form: Form, status: int = 200
    ) -> web.Response:
        port = self.pages.port
        return self.pages.page(
            request,
            "panels.html",
            status,
            user=viewer,
            guild=guild,
            section="panels",
            form=form,
            channels=[(c.id, f"#{c.name}") for c in await port.text_channels(guild)],
            categories=[(c.key, c.name) for c in await port.categories(viewer, guild)],
        )

    async def show(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=True)
        return await self._render(
            request, viewer, guild, Form.filled("panel", {"style": "buttons"})
        )

    async def post(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=True)
        form = Form.posted("panel", await self.pages.posted(request, viewer), FIELDS)
        port = self.pages.port
        categories = await port.categories(viewer, guild)
        fields: dict[str, Any] = {
            "channel": form.choice("channel", [c.id for c in await port.text_channels(guild)]),
            "categories": form.subset("categories", [c.key for c in categories]),
            "title": form.text("title", max_len=256),
            "description": form.text("description", max_len=4000),
            "style": form.choice("style", ("buttons", "menu")),
        }
        if not categories:
            form.fail("categories", "Add a category first.")
        if form.ok:
            try:
                await port.post_panel(viewer, guild, fields)
            except PageError as exc:
                form.refused(exc, FIELDS, {"channel_id": "channel"})
            else:
                raise self.pages.back(f"/guilds/{guild.id}/panels", "panel")
        return await self._render(request, viewer, guild, form, status=422)
