"""Every API route, in one list: the router and the OpenAPI document both read it."""

from __future__ import annotations

from aiohttp import web

from standalone.http.api import (
    categories,
    guilds,
    panels,
    portability,
    questions,
    settings,
    stats,
    status,
    tags,
    tickets,
    users,
)
from standalone.http.api.base import ApiRoute


def api_routes() -> list[ApiRoute]:
    return [
        *status.ROUTES,
        *users.ROUTES,
        *guilds.ROUTES,
        *settings.ROUTES,
        *categories.ROUTES,
        *questions.ROUTES,
        *tags.ROUTES,
        *panels.ROUTES,
        *tickets.ROUTES,
        *portability.ROUTES,
        *stats.ROUTES,
    ]


def aiohttp_routes() -> list[web.RouteDef]:
    return [web.route(r.method, r.path, r.handler) for r in api_routes()]
