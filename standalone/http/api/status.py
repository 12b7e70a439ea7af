"""``GET /api/status``: the service answers, and its version (v4's ``/status``)."""

from __future__ import annotations

from importlib import metadata

import msgspec
from aiohttp import web

from standalone.http.api.base import ApiRoute, json


class Status(msgspec.Struct, kw_only=True):
    status: str
    version: str


def version() -> str:
    try:
        return metadata.version("tickets-standalone")
    except metadata.PackageNotFoundError:
        return "unknown"


async def get_status(request: web.Request) -> web.Response:
    return json(Status(status="ok", version=version()))


ROUTES = [
    ApiRoute(
        method="GET",
        path="/api/status",
        handler=get_status,
        summary="The service answers; its version",
        auth="none",
        response=Status,
        tag="status",
    ),
]
