"""HTTP helpers shared by the REST route modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from . import bodies, errors
from .models import App
from .state import World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_encode = msgspec.json.Encoder().encode


def json_response(data: Any, status: int = 200) -> web.Response:
    # disnake parses a body only when Content-Type is exactly ``application/json``;
    # web.json_response would add "; charset=utf-8".
    return web.Response(body=_encode(data), status=status, content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


def path_id(request: web.Request, name: str) -> int:
    return bodies.snowflake(request.match_info[name], [name])


def bot_auth(world: World, request: web.Request) -> App:
    """The application whose bot token authorizes the request (401 otherwise)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bot "):
        raise errors.unauthorized()
    return world.app_for_token(header.removeprefix("Bot "))
