"""The limiter as an aiohttp client middleware: waits, retries 429s and 5xx, bounded.

The interceptor puts it on its session to Discord; in the aio mode disnake's
own session gets it (``standalone.discord_bridge``), so the same limiter runs
in-process. Calls that are not Discord API paths (CDN downloads) pass untouched.
"""

from __future__ import annotations

import asyncio
import logging
import random

import aiohttp
import msgspec
from aiohttp import ClientHandlerType, ClientRequest, ClientResponse

from standalone.interceptor.limiter import RETRY_STATUSES, Limiter
from standalone.interceptor.routes import BadPath, api_path, route_of

log = logging.getLogger(__name__)


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How often a call is tried again, and how long to wait between 5xx tries."""

    max_429_retries: int = 5
    # A 429 asking for a longer wait goes back to the caller: a worker must not sit
    # out Discord's minutes-long limits (channel renames) with an interaction waiting.
    max_429_wait_s: float = 30.0
    max_5xx_retries: int = 3
    backoff_ms: int = 500
    max_backoff_ms: int = 8_000


class RateLimitMiddleware:
    """Admits each try of a call through the limiter and feeds Discord's answer back."""

    def __init__(self, limiter: Limiter, tenant: str, retry: RetryPolicy | None = None) -> None:
        self.limiter = limiter
        self.tenant = tenant
        self.retry = retry or RetryPolicy()

    async def __call__(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        try:
            route = route_of(request.method, api_path(request.url.path))
        except BadPath:
            return await handler(request)
        limited = failed = 0
        while True:
            permit = await self.limiter.acquire(self.tenant, route)
            try:
                response = await handler(request)
            except aiohttp.ClientConnectorError:
                # Nothing reached Discord, so trying again cannot do anything twice.
                await self.limiter.abandon(permit)
                if failed >= self.retry.max_5xx_retries:
                    raise
                failed += 1
                await asyncio.sleep(self._backoff(failed))
                continue
            except BaseException:
                await self.limiter.abandon(permit)
                raise
            body = await response.read() if response.status == 429 else b""
            wait = await self.limiter.learn(permit, response.status, response.headers, body)
            if wait is not None:
                # No Via: Cloudflare, not Discord, refused; retrying would prolong a ban.
                if (
                    "Via" not in response.headers
                    or limited >= self.retry.max_429_retries
                    or wait > self.retry.max_429_wait_s
                ):
                    return response
                limited += 1
                log.warning(
                    "tenant %s: 429 on %s %s, retrying in %.2f s",
                    self.tenant,
                    route.method,
                    route.template,
                    wait,
                )
                response.release()
                await asyncio.sleep(wait)
                continue
            if response.status in RETRY_STATUSES and failed < self.retry.max_5xx_retries:
                failed += 1
                response.release()
                await asyncio.sleep(self._backoff(failed))
                continue
            return response

    def _backoff(self, attempt: int) -> float:
        base = min(self.retry.backoff_ms * 2 ** (attempt - 1), self.retry.max_backoff_ms)
        # Full jitter: instances retrying after one outage do not return in step.
        return random.uniform(base / 2, base) / 1000
