"""``/healthz`` (the process answers), ``/readyz`` (its backends answer) and ``/metrics``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

import msgspec
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.exposition import generate_latest

from standalone import keys
from standalone.http.deps import deps_of

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0


class Check(msgspec.Struct, kw_only=True):
    name: str
    ok: bool
    error: str | None = None


class Readiness(msgspec.Struct, kw_only=True):
    ready: bool
    checks: list[Check]


class Health(msgspec.Struct, kw_only=True):
    status: str


class HttpMetrics:
    """Request counts and latencies by route template (never by raw path: ids would explode)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "tickets_http_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "tickets_http_request_seconds",
            "Time to answer an HTTP request, by method and route.",
            ["method", "route"],
            registry=registry,
        )

    def observe(self, request: web.Request, status: int, started: float) -> None:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        self.requests.labels(request.method, route, str(status)).inc()
        self.latency.labels(request.method, route).observe(time.perf_counter() - started)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(Health(status="ok")), content_type="application/json"
    )


async def _probe(name: str, check: Awaitable[object]) -> Check:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await check
    except Exception as exc:  # any failure means "not ready", reported as such
        log.warning("readiness check %s failed: %r", name, exc)
        return Check(name=name, ok=False, error=str(exc) or type(exc).__name__)
    return Check(name=name, ok=True)


async def readyz(request: web.Request) -> web.Response:
    deps = deps_of(request)
    checks = [
        await _probe("database", deps.db.run("RETURN 1;")),
        await _probe("storage", deps.store.exists(keys.health_object())),
        await _probe("coordination", deps.coordination.cache.get(keys.health_probe())),
    ]
    ready = all(c.ok for c in checks)
    body = msgspec.json.encode(Readiness(ready=ready, checks=checks))
    return web.Response(body=body, status=200 if ready else 503, content_type="application/json")


async def metrics(request: web.Request) -> web.Response:
    # The service's own metrics, then the process-wide registry: process and
    # platform collectors, and whatever other services of this process registered.
    data = generate_latest(deps_of(request).registry) + generate_latest(REGISTRY)
    response = web.Response(body=data)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def routes() -> list[web.RouteDef]:
    return [
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics),
    ]
