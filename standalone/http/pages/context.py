"""What every page handler starts from: the viewer, the guild in the URL, the CSRF token."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec
from aiohttp import web

from standalone.http.pages.forms import Form
from standalone.http.pages.ports import DashboardPort, GuildView, Viewer
from standalone.http.pages.render import render

CSRF_FIELD = "csrf_token"
FLASHES = {
    "settings": "Settings saved.",
    "category": "Category added.",
    "category-deleted": "Category deleted.",
    "question": "Question added.",
    "question-moved": "Question moved.",
    "question-deleted": "Question deleted.",
    "tag": "Tag saved.",
    "tag-deleted": "Tag deleted.",
    "panel": "Panel posted.",
}
# A form post is small; a larger one is refused before it is read.
MAX_FORM_BYTES = 64 * 1024


class SessionPort(Protocol):
    """The login session the HTTP service keeps (signed cookie)."""

    async def viewer(self, request: web.Request) -> Viewer | None:
        """The person logged in, or None."""
        ...

    def csrf_token(self, request: web.Request) -> str:
        """The token forms must post back; bound to the session."""
        ...

    def csrf_ok(self, request: web.Request, token: str) -> bool:
        """Whether a posted token belongs to this request's session."""
        ...

    def login_url(self, request: web.Request) -> str:
        """Where to send someone not logged in (back here afterwards)."""
        ...


class Pages(msgspec.Struct, frozen=True, kw_only=True, dict=False):
    """The pages' dependencies and the path they are mounted under."""

    port: DashboardPort
    session: SessionPort
    base: str = ""  # e.g. "" for /, "/dashboard" for /dashboard/

    @property
    def static_url(self) -> str:
        return f"{self.base}/static"

    def page(
        self, request: web.Request, template: str, status: int = 200, **context: Any
    ) -> web.Response:
        context.setdefault("guild", None)
        context.setdefault("section", "")
        # Only known codes: a link cannot make the page say what its author wants.
        context.setdefault("flash", FLASHES.get(request.query.get("saved", ""), ""))
        return render(
            template,
            status,
            base=self.base,
            static_url=self.static_url,
            csrf_token=self.session.csrf_token(request),
            **context,
        )

    def message(
        self, request: web.Request, status: int, title: str, text: str, user: Viewer | None
    ) -> web.Response:
        return self.page(request, "message.html", status, title=title, message=text, user=user)

    async def viewer(self, request: web.Request) -> Viewer:
        """The viewer; someone not logged in goes to the login page and comes back."""
        viewer = await self.session.viewer(request)
        if viewer is None:
            raise web.HTTPFound(self.session.login_url(request))
        return viewer

    async def guild(self, request: web.Request, viewer: Viewer, *, admin: bool) -> GuildView:
        """The guild in the URL if the viewer may open this page of it; else a 404 or 403."""
        guild_id = request.match_info["guild"]
        found = await self.port.guild(viewer, guild_id) if guild_id.isdigit() else None
        if found is None:
            # The same answer for "no such server" and "not yours": nothing leaks.
            raise self._refusal(
                request, 404, "Not found", "No server of yours has that id.", viewer
            )
        if admin and not found.admin:
            raise self._refusal(
                request,
                403,
                "Admins only",
                "Only admins of this server (Manage Server) can change its settings.",
                viewer,
            )
        return found

    def _refusal(
        self, request: web.Request, status: int, title: str, text: str, viewer: Viewer
    ) -> web.HTTPException:
        response = self.message(request, status, title, text, viewer)
        error = web.HTTPNotFound if status == 404 else web.HTTPForbidden
        return error(
            text=response.text, content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    async def posted(self, request: web.Request, viewer: Viewer) -> Any:
        """The posted form, after checking its size and CSRF token; refuses either with 4xx."""
        if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
            raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length)
        data = await request.post()
        token = data.get(CSRF_FIELD)
        if not isinstance(token, str) or not self.session.csrf_ok(request, token):
            response = self.message(
                request,
                403,
                "Form expired",
                "This form's security token is missing or wrong. Reload the page and try again.",
                viewer,
            )
            raise web.HTTPForbidden(
                text=response.text, content_type="text/html", headers={"Cache-Control": "no-store"}
            )
        return data

    def back(self, path: str, saved: str) -> web.HTTPSeeOther:
        """After a successful post: show the page again with a message (post/redirect/get)."""
        assert saved in FLASHES, saved
        return web.HTTPSeeOther(f"{self.base}{path}?saved={saved}")


def blank(form_id: str) -> Form:
    return Form(form_id)
