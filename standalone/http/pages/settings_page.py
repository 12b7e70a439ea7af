"""The guild settings page: log channel, archive, buttons, blocked roles, timing, looks."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from standalone.db.records import GuildSettings
from standalone.http.pages.context import Pages
from standalone.http.pages.forms import Form, shown_colour, shown_duration
from standalone.http.pages.ports import GuildView, PageError, Viewer

FIELDS = (
    "log_channel",
    "archive",
    "claim_button",
    "close_button",
    "blocked_roles",
    "stale_after",
    "auto_close",
    "footer",
    "colour",
)
# Service field names that the form shows under another name.
RENAMED = {"stale_after_ms": "stale_after", "auto_close_ms": "auto_close"}


def _shown(settings: GuildSettings) -> Form:
    def on(flag: bool) -> str:
        return "on" if flag else "off"

    return Form.filled(
        "settings",
        {
            "log_channel": settings.log_channel or "",
            "archive": on(settings.archive),
            "claim_button": on(settings.claim_button),
            "close_button": on(settings.close_button),
            "blocked_roles": list(settings.blocked_roles),
            "stale_after": shown_duration(settings.stale_after_ms),
            "auto_close": shown_duration(settings.auto_close_ms),
            "footer": settings.footer or "",
            "colour": shown_colour(settings.colour),
        },
    )


def _changes(form: Form, channels: list[str], roles: list[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "log_channel": form.choice("log_channel", channels, blank=True),
        "archive": form.flag("archive"),
        "claim_button": form.flag("claim_button"),
        "close_button": form.flag("close_button"),
        "blocked_roles": form.subset("blocked_roles", roles),
        "footer": form.text("footer", max_len=200),
        "colour": form.colour("colour"),
    }
    parsed, stale = form.duration("stale_after")
    if parsed:
        changes["stale_after_ms"] = stale
    parsed, auto_close = form.duration("auto_close")
    if parsed:
        changes["auto_close_ms"] = auto_close
    return changes


class SettingsPage:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/guilds/{guild}/settings", self.show),
            web.post("/guilds/{guild}/settings", self.save),
        ]

    async def _render(
        self, request: web.Request, viewer: Viewer, guild: GuildView, form: Form, status: int = 200
    ) -> web.Response:
        port = self.pages.port
        channels = [(c.id, f"#{c.name}") for c in await port.text_channels(guild)]
        roles = [(r.id, f"@{r.name}") for r in await port.roles(guild)]
        return self.pages.page(
            request,
            "settings.html",
            status,
            user=viewer,
            guild=guild,
            section="settings",
            form=form,
            channels=channels,
            roles=roles,
        )

    async def show(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=True)
        settings = await self.pages.port.settings(viewer, guild)
        return await self._render(request, viewer, guild, _shown(settings))

    async def save(self, request: web.Request) -> web.Response:
        viewer = await self.pages.viewer(request)
        guild = await self.pages.guild(request, viewer, admin=True)
        form = Form.posted("settings", await self.pages.posted(request, viewer), FIELDS)
        port = self.pages.port
        channels = [c.id for c in await port.text_channels(guild)]
        roles = [r.id for r in await port.roles(guild)]
        changes = _changes(form, channels, roles)
        if form.ok:
            try:
                await port.update_settings(viewer, guild, changes)
            except PageError as exc:
                form.refused(exc, FIELDS, RENAMED)
            else:
                raise self.pages.back(f"/guilds/{guild.id}/settings", "settings")
        return await self._render(request, viewer, guild, form, status=422)
