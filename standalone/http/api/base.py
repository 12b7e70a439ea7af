"""The route table entry, request decoding and JSON responses shared by the API modules."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import msgspec
from aiohttp import web

from standalone.http.access import require_session
from standalone.http.csrf import check_csrf
from standalone.http.errors import ApiError, from_validation, invalid

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
        decoded = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise from_validation(exc) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    if b"\\u0000" in raw.lower():
        # The database cannot store NUL characters; say which field has one.
        where = _nul_at(msgspec.to_builtins(decoded), "")
        raise invalid(where or None, "text may not contain NUL characters")
    return decoded


def _nul_at(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if not isinstance(value, dict | list):
        return None
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        found = _nul_at(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def key_param(request: web.Request, name: str) -> str:
    """A record key from the path (category, question, tag); 404 when it cannot be one."""
    value = request.match_info[name]
    if not _KEY.fullmatch(value):
        raise ApiError(404, f"no such {name}")
    return value


def guild_param(request: web.Request) -> str:
    guild = request.match_info["guild"]
    if not guild.isdigit() or len(guild) > 20:
        raise ApiError(404, "no such server")
    return guild
