"""What every response gets: JSON errors, security headers, metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from standalone.http.errors import ApiError, ErrorBody, ErrorDetail
from standalone.http.health import HttpMetrics
from standalone.observability import context
from standalone.tracing import new_traceparent

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages are server-rendered with their own scripts and styles only.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' https://cdn.discordapp.com data:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self' "
        "https://discord.com"
    ),
}


def error_response(status: int, message: str, field: str | None = None) -> web.Response:
    body = ErrorBody(error=ErrorDetail(status=status, message=message, field=field))
    return web.Response(
        body=msgspec.json.encode(body), status=status, content_type="application/json"
    )


def make_middlewares(
    metrics: HttpMetrics, public_base: str, max_body: int
) -> list[Callable[..., object]]:
    hsts = public_base.startswith("https://")

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        # Lines logged while answering name the tenant, guild and ticket of the URL.
        info = request.match_info
        number = info.get("number", "")
        try:
            with context.bound(
                tenant_name=info.get("tenant"),
                guild_id=info.get("guild"),
                ticket_id=number if number.isdigit() else None,
                traceparent=request.headers.get("traceparent") or new_traceparent(),
            ):
                response = await handler(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.message, exc.field)
        except web.HTTPRequestEntityTooLarge:
            response = error_response(413, f"request body too large (at most {max_body} bytes)")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = error_response(exc.status, exc.reason)
        except Exception:
            log.exception("http: %s %s failed", request.method, request.path)
            response = error_response(500, "internal error; it has been logged")
        metrics.observe(request, response.status, started)
        return response

    @web.middleware
    async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        # A handler may set its own (the transcript viewer's is stricter).
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith("/t/") or request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return [headers, errors]
