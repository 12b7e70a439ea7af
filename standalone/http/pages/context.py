"""What every page handler starts from: the session, the guild in the URL, the CSRF check.

Log-in, sessions, access levels and CSRF tokens are the http service's own
(``standalone.http.access``/``csrf``); pages turn their refusals into HTML pages
instead of the API's JSON errors, and send people who are not logged in to log in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

import msgspec
from aiohttp import web

from standalone.http.access import GuildAccess, current_session, guild_access, require_session
from standalone.http.csrf import check_csrf
from standalone.http.deps import HttpDeps, deps_of
from standalone.http.errors import ApiError
from standalone.http.pages.render import render
from standalone.http.sessions import Session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# A form post is small; a larger one is refused before it is read.
MAX_FORM_BYTES = 64 * 1024
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


class Viewer(msgspec.Struct, frozen=True, kw_only=True):
    """The person logged in, as the header shows them."""

    user_id: str
    name: str


class GuildView(msgspec.Struct, frozen=True, kw_only=True):
    """The guild in the URL as templates see it."""

    id: str
    name: str
    admin: bool


class Refused(Exception):
    """Stop a handler and answer with this page (a 4xx page, not the API's JSON)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def base_of(request: web.Request) -> str:
    return f"/t/{request.match_info['tenant']}"


def viewer_of(session: Session | None) -> Viewer | None:
    if session is None:
        return None
    return Viewer(user_id=session.user_id, name=session.global_name or session.username)


def page(
    request: web.Request,
    template: str,
    status: int = 200,
    *,
    session: Session | None,
    **context: Any,
) -> web.Response:
    """Render a page with what the layout needs: paths, the viewer, the CSRF token."""
    context.setdefault("guild", None)
    context.setdefault("section", "")
    # Only known codes: a link cannot make the page say what its author wants.
    context.setdefault("flash", FLASHES.get(request.query.get("saved", ""), ""))
    base = base_of(request)
    return render(
        template,
        status,
        base=base,
        static_url=f"{base}/static",
        user=viewer_of(session),
        csrf_token=session.csrf if session else "",
        **context,
    )


def message(
    request: web.Request, status: int, title: str, text: str, session: Session | None
) -> web.Response:
    return page(request, "message.html", status, session=session, title=title, message=text)


def login_redirect(request: web.Request) -> web.HTTPFound:
    target = quote(request.path_qs if request.method == "GET" else base_of(request) + "/")
    return web.HTTPFound(f"{base_of(request)}/auth/login?next={target}")


def html_errors(handler: Handler) -> Handler:
    """Show refusals as pages; someone not logged in is sent to log in and back."""

    @wraps(handler)
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refused as stop:
            return stop.response
        except ApiError as exc:
            if exc.status == 401:
                raise login_redirect(request) from None
            session = await current_session(request) if exc.status != 404 else None
            title = {403: "Not allowed", 404: "Not found"}.get(exc.status, "Something went wrong")
            text = exc.message[:1].upper() + exc.message[1:] + "."
            return message(request, exc.status, title, text, session)

    return run


class Here(msgspec.Struct, frozen=True, kw_only=True, dict=False):
    """One request's session, standing in the URL's guild, and the service's dependencies."""

    session: Session
    access: GuildAccess
    guild: GuildView
    deps: HttpDeps


async def here(request: web.Request, *, admin: bool) -> Here:
    """Log-in and access checks of a guild page, once per request."""
    session = await session_of(request)
    access, guild = await guild_of(request, admin=admin)
    return Here(session=session, access=access, guild=guild, deps=deps_of(request))


async def session_of(request: web.Request) -> Session:
    """The logged-in session of the URL's tenant (401, hence log in, otherwise)."""
    return await require_session(request)


async def guild_of(request: web.Request, *, admin: bool) -> tuple[GuildAccess, GuildView]:
    """The caller's standing in the URL's guild; admins only for ``admin`` pages."""
    guild_id = request.match_info["guild"]
    if not guild_id.isdigit() or len(guild_id) > 20:
        raise ApiError(404, "no such server")
    access = await guild_access(request, guild_id)
    if admin and not access.is_admin:
        raise ApiError(403, "only admins of this server (Manage Server) can change its settings")
    return access, GuildView(id=access.guild_id, name=access.guild_name, admin=access.is_admin)


async def posted(request: web.Request, session: Session) -> Any:
    """The posted form after its size and CSRF token are checked (413 and 403 pages)."""
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise Refused(
            message(request, 413, "Too large", "That form sent too much; shorten it.", session)
        )
    data = await request.post()
    try:
        check_csrf(request, session, data)
    except ApiError:
        raise Refused(
            message(
                request,
                403,
                "Form expired",
                "This form's security token is missing or wrong. Reload the page and try again.",
                session,
            )
        ) from None
    return data


def back(request: web.Request, path: str, saved: str) -> web.HTTPSeeOther:
    """After a successful post: show the page again with a message (post/redirect/get)."""
    assert saved in FLASHES, saved
    return web.HTTPSeeOther(f"{base_of(request)}{path}?saved={saved}")
