"""The route table entry, request decoding and JSON responses shared by the API modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import msgspec
from aiohttp import web

from standalone.http.access import require_session
from standalone.http.csrf import check_csrf
from standalone.http.errors import ApiError, from_validation

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Auth = Literal["none", "session", "member", "admin"]

API = "/t/{tenant}/api"


class ApiRoute(msgspec.Struct, frozen=True, kw_only=True):
    """One API operation: what the router needs and what the OpenAPI document says."""

    method: str
    path: str
    handler: Handler
    summary: str
    auth: Auth = "admin"
    body: Any = None  # a msgspec Struct type, or None
    response: Any = None  # a type msgspec can describe, or None for 204
    status: int = 200
    tag: str = "api"
    query: tuple[tuple[str, str], ...] = ()  # (name, description) of string query params


def json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(data), status=status, content_type="application/json"
    )


def no_content() -> web.Response:
    return web.Response(status=204)


async def write_guard(request: web.Request) -> None:
    """Every state-changing API call: a session of this tenant and its CSRF token."""
    session = await require_session(request)
    check_csrf(request, session)


async def body(request: web.Request, kind: type[T]) -> T:
    """Decode a JSON body into ``kind``: 415/400 for non-JSON, 422 naming the bad field."""
    if request.content_type != "application/json":
        raise ApiError(415, "send the body as application/json")
    raw = await request.read()
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise from_validation(exc) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None


def guild_param(request: web.Request) -> str:
    guild = request.match_info["guild"]
    if not guild.isdigit() or len(guild) > 20:
        raise ApiError(404, "no such server")
    return guild
