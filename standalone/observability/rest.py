"""Every REST call of the bot: counted by route template and status, traced, timed.

An aiohttp client middleware on disnake's session (``discord_bridge``), the last
one before the wire, so retries of the rate limiter count as the calls they are.
It adds the event's ``traceparent`` header, so whatever sits in between (the
interceptor, a proxy) can join the trace.
"""

from __future__ import annotations

import time

import aiohttp
from aiohttp import ClientHandlerType, ClientRequest, ClientResponse

from standalone.interceptor.routes import BadPath, api_path, route_of
from standalone.observability import context, metrics, otel
from standalone.tracing import current as current_trace

CALLBACK_SUFFIX = "/interactions/{major}/{major}/callback"


def route_template(method: str, path: str) -> str:
    """The route of a call with every id and token replaced: a bounded label."""
    try:
        route = route_of(method, api_path(path))
    except BadPath:
        return "other"
    segments = route.template.split("/")
    # The emoji of a reaction route is user-chosen text, not part of the route.
    for index in range(1, len(segments)):
        if segments[index - 1] == "reactions" and segments[index] not in {"@me", "{id}"}:
            segments[index] = "{emoji}"
    return "/".join(segments)


class RestObserver:
    """The middleware of one tenant's REST session."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    async def __call__(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        method = request.method.upper()
        route = route_template(method, request.url.path)
        with otel.span(
            f"{method} {route}",
            kind="client",
            attributes={"http.request.method": method, "http.route": route},
        ) as active:
            traceparent = active.traceparent or current_trace.get()
            if traceparent:
                request.headers["traceparent"] = traceparent
            started = time.perf_counter()
            try:
                response = await handler(request)
            except (aiohttp.ClientError, OSError, TimeoutError):
                metrics.rest_requests.labels(self.tenant, method, route, "error").inc()
                raise
            metrics.rest_latency.labels(method, route).observe(time.perf_counter() - started)
            active.set_status(response.status)
        metrics.rest_requests.labels(self.tenant, method, route, str(response.status)).inc()
        if response.status == 429:
            scope = response.headers.get("X-RateLimit-Scope", "user")
            if scope not in {"user", "global", "shared"}:
                scope = "other"
            metrics.rest_rate_limited.labels(self.tenant, route, scope).inc()
        if route.endswith(CALLBACK_SUFFIX) and (entered := context.event_entered.get()):
            metrics.interaction_latency.labels(self.tenant).observe(max(0.0, time.time() - entered))
        return response
