"""Jinja2 templates shipped in the package, autoescaped, and the stylesheet they link."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import jinja2
from aiohttp import web

STATIC_CSS = "dashboard.css"


@cache
def environment() -> jinja2.Environment:
    """One environment per process; templates are read once and cached by Jinja."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("standalone.http.pages", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, status: int = 200, **context: Any) -> web.Response:
    """A page; every user-supplied value in ``context`` is escaped by the template."""
    html = environment().get_template(template).render(**context)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    # Pages carry session-bound CSRF tokens and private data: never cache or frame them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return response


@cache
def stylesheet() -> bytes:
    return files("standalone.http.pages").joinpath("static", STATIC_CSS).read_bytes()


async def serve_stylesheet(_request: web.Request) -> web.Response:
    response = web.Response(body=stylesheet(), content_type="text/css", charset="utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
