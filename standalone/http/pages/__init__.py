"""The dashboard's HTML pages: server-rendered with Jinja2, forms checked on the server."""

from __future__ import annotations

from aiohttp import web

from standalone.http.pages.categories_page import CategoriesPage
from standalone.http.pages.context import Pages, SessionPort
from standalone.http.pages.panels_page import PanelsPage
from standalone.http.pages.ports import DashboardPort
from standalone.http.pages.render import serve_stylesheet
from standalone.http.pages.settings_page import SettingsPage
from standalone.http.pages.tags_page import TagsPage
from standalone.http.pages.tickets_page import TicketsPage

__all__ = ["DashboardPort", "Pages", "SessionPort", "add_pages"]


def add_pages(app: web.Application, pages: Pages) -> None:
    """Mount every page under ``pages.base``."""
    routes: list[web.RouteDef] = [web.get("/static/dashboard.css", serve_stylesheet)]
    for page in (
        TicketsPage(pages),
        SettingsPage(pages),
        CategoriesPage(pages),
        TagsPage(pages),
        PanelsPage(pages),
    ):
        routes.extend(page.routes())
    app.router.add_routes(
        [web.RouteDef(r.method, pages.base + r.path, r.handler, r.kwargs) for r in routes]
    )
