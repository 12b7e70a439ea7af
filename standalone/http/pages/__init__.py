"""The dashboard's HTML pages under ``/t/{tenant}/``: Jinja2, forms checked on the server.

Pages call the same repositories and access checks as the JSON API; they show
refusals as pages (a 401 sends the browser to log in) rather than JSON errors.
"""

from __future__ import annotations

from aiohttp import web

from standalone.http.pages import (
    categories_page,
    panels_page,
    settings_page,
    tags_page,
    tickets_page,
)
from standalone.http.pages.render import serve_stylesheet


def page_routes() -> list[web.RouteDef]:
    """Every page's route, for the http service's app."""
    return [
        web.get("/t/{tenant}/static/dashboard.css", serve_stylesheet),
        *tickets_page.routes(),
        *settings_page.routes(),
        *categories_page.routes(),
        *tags_page.routes(),
        *panels_page.routes(),
    ]
