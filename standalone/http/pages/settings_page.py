"""The guild settings page: log channel, archive, buttons, blocked roles, timing, looks."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from standalone.db.records import GuildSettings
from standalone.http.pages import backend
from standalone.http.pages.context import Here, back, here, html_errors, page, posted
from standalone.http.pages.errors import PageError
from standalone.http.pages.forms import Form, shown_colour, shown_duration

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
PATH = "/t/{tenant}/guilds/{guild}/settings"


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, show), web.post(PATH, save)]


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


async def _render(request: web.Request, at: Here, form: Form, status: int = 200) -> web.Response:
    channels = await backend.channels(at.deps, at.access, backend.TEXT_CHANNEL)
    roles = await backend.roles(at.deps, at.access)
    return page(
        request,
        "settings.html",
        status,
        session=at.session,
        guild=at.guild,
        section="settings",
        form=form,
        channels=[(c.id, f"#{c.name}") for c in channels],
        roles=[(r.id, f"@{r.name}") for r in roles],
    )


@html_errors
async def show(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    current = await backend.settings(at.deps, at.access)
    return await _render(request, at, _shown(current))


@html_errors
async def save(request: web.Request) -> web.StreamResponse:
    at = await here(request, admin=True)
    form = Form.posted("settings", await posted(request, at.session), FIELDS)
    channels = [c.id for c in await backend.channels(at.deps, at.access, backend.TEXT_CHANNEL)]
    roles = [r.id for r in await backend.roles(at.deps, at.access)]
    changes = _changes(form, channels, roles)
    if form.ok:
        try:
            await backend.update_settings(at.deps, at.access, changes)
        except PageError as exc:
            form.refused(exc, FIELDS, RENAMED)
        else:
            raise back(request, f"/guilds/{at.guild.id}/settings", "settings")
    return await _render(request, at, form, status=422)
