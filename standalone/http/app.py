"""The aiohttp application: routes, middlewares, and the dependencies they share."""

from __future__ import annotations

from aiohttp import web

from standalone.http import auth, health, openapi
from standalone.http.api.table import aiohttp_routes
from standalone.http.deps import DEPS, HttpDeps
from standalone.http.health import HttpMetrics
from standalone.http.middleware import make_middlewares


def make_app(deps: HttpDeps, *, extra_routes: list[web.RouteDef] | None = None) -> web.Application:
    """The http service's app; ``extra_routes`` lets the pages add theirs."""
    metrics = HttpMetrics(deps.registry)
    app = web.Application(
        client_max_size=deps.config.max_body_bytes,
        middlewares=make_middlewares(metrics, deps.config.base_url, deps.config.max_body_bytes),  # type: ignore[arg-type]
    )
    app[DEPS] = deps
    app.add_routes(health.routes())
    app.add_routes(auth.routes())
    app.add_routes(aiohttp_routes())
    app.add_routes(openapi.routes())
    if extra_routes:
        app.add_routes(extra_routes)
    return app
