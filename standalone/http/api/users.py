"""``GET /users/@me``: who is logged in, and the CSRF token their writes must carry."""

from __future__ import annotations

import msgspec
from aiohttp import web

from standalone.http.access import require_session
from standalone.http.api.base import API, ApiRoute, json
from standalone.http.csrf import csrf_token
from standalone.http.sessions import Session


class Me(msgspec.Struct, kw_only=True):
    """The logged-in user."""

    id: str
    username: str
    global_name: str | None
    avatar: str | None
    tenant: str
    scopes: list[str]
    csrf_token: str
    expires_at: str


def me_of(session: Session) -> Me:
    return Me(
        id=session.user_id,
        username=session.username,
        global_name=session.global_name,
        avatar=session.avatar,
        tenant=session.tenant,
        scopes=session.scopes,
        csrf_token=csrf_token(session),
        expires_at=session.expires_at.isoformat(),
    )


async def get_me(request: web.Request) -> web.Response:
    return json(me_of(await require_session(request)))


ROUTES = [
    ApiRoute(
        method="GET",
        path=f"{API}/users/@me",
        handler=get_me,
        summary="The logged-in user and their CSRF token",
        auth="session",
        response=Me,
        tag="users",
    ),
]
