"""The interceptor: a REST proxy to Discord for every tenant, under one shared limiter.

Callers (workers) send Discord API calls as they would to Discord, with two
headers: the shared secret and the tenant. The interceptor sends them on with
that tenant's bot token, which it reads from the database: workers need not
pass tokens over the wire, and a caller holding the secret can only spend the
tokens of tenants this deployment serves, not relay arbitrary ones. The
limiter's keys then name the tenant, never a token.

Answers go back as Discord gave them, without the ``X-RateLimit-*`` headers:
the interceptor does the waiting, so a caller's own limiter (disnake's) must
not pause on a bucket other callers emptied.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import aiohttp
import msgspec
from aiohttp import web
from yarl import URL

from emulation.ports import Coordination
from standalone.http.interactions import Answer, Deferred, relay_answer
from standalone.interceptor.headers import SECRET_HEADER, TENANT_HEADER
from standalone.interceptor.limiter import Limiter
from standalone.interceptor.middleware import RateLimitMiddleware, RetryPolicy
from standalone.interceptor.routes import BadPath, api_path, route_of
from standalone.observability import context
from standalone.observability.rest import RestObserver

log = logging.getLogger(__name__)

# What a caller may set on the call to Discord; Authorization is the interceptor's.
_FORWARDED = ("Content-Type", "X-Audit-Log-Reason", "User-Agent", "Accept")
_NOT_RETURNED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "set-cookie",
    }
)
TOKEN_CACHE_S = 60.0
MISS_CACHE_S = 5.0
_CALLBACK = re.compile(r"^/interactions/(\d{1,20})/([^/]+)/callback$")
# Late answers after the ingress deferred: messages (4) and updates (7) edit the
# original response; deferrals (5, 6) have nothing left to do.
_EDITS = frozenset({4, 7})
_DEFERRALS = frozenset({5, 6})
_DONE = object()


class _Call(NamedTuple):
    method: str
    path: str
    query: str
    body: bytes
    headers: Mapping[str, str]


class _Callback(msgspec.Struct):
    type: int
    data: dict[str, Any] | None = None


class TokenSource(Protocol):
    """Where the interceptor finds a tenant's bot token."""

    async def token(self, tenant: str) -> str | None:
        """The tenant's token, or None when no such tenant is served."""


class CachedTokens:
    """Tokens from a source, kept in memory: one lookup per tenant a minute, not per call.

    A tenant not found is looked up again after a few seconds, so one added
    while the interceptor runs is served soon.
    """

    def __init__(
        self, source: TokenSource, ttl_s: float = TOKEN_CACHE_S, miss_ttl_s: float = MISS_CACHE_S
    ) -> None:
        self.source = source
        self.ttl_s = ttl_s
        self.miss_ttl_s = miss_ttl_s
        self._known: dict[str, tuple[float, str | None]] = {}

    async def token(self, tenant: str) -> str | None:
        now = time.monotonic()
        hit = self._known.get(tenant)
        if hit is not None and now < hit[0]:
            return hit[1]
        token = await self.source.token(tenant)
        self._known[tenant] = (now + (self.ttl_s if token else self.miss_ttl_s), token)
        return token


class _Error(msgspec.Struct):
    message: str
    code: int = 0


class Interceptor:
    """The proxy's request handling; ``application`` makes the aiohttp app."""

    def __init__(
        self,
        *,
        api_base: str,
        secret: str,
        tokens: TokenSource,
        limiter: Limiter,
        retry: RetryPolicy | None = None,
        max_body_bytes: int = 26 * 1024 * 1024,
        relay: Coordination | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the interceptor needs a shared secret")
        self.api_base = api_base.rstrip("/")
        self._secret = secret.encode()
        self.tokens = tokens
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        # Where an HTTP ingress may wait for a worker's interaction response.
        self.relay = relay
        self._middlewares: dict[str, RateLimitMiddleware] = {}
        self._session: aiohttp.ClientSession | None = None

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_route("*", "/{path:.*}", self.handle)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _: web.Application) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=True)

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _error(401, "401: Unauthorized")
        tenant = request.headers.get(TENANT_HEADER, "")
        if not tenant:
            return _error(400, f"the {TENANT_HEADER} header names no tenant")
        raw = request.rel_url
        try:
            path = api_path(raw.raw_path)
        except BadPath as exc:
            return _error(400, str(exc))
        token = await self.tokens.token(tenant)
        if token is None:
            return _error(403, f"tenant {tenant!r} is not served here")
        body = await request.read()  # over max_body_bytes: aiohttp answers 413
        call = _Call(request.method, path, raw.raw_query_string, body, request.headers)
        # The worker's trace goes on here: in these lines, and on to Discord.
        with context.bound(
            tenant_name=tenant, traceparent=request.headers.get("traceparent") or None
        ):
            relayed = await self._relay(tenant, call)
            if relayed is True:
                return web.Response(status=204)
            if isinstance(relayed, _Call):
                call = relayed
            elif relayed is _DONE:
                return web.Response(status=204)
            return await self._send(tenant, token, call)

    async def _send(self, tenant: str, token: str, call: _Call) -> web.Response:
        headers = {name: call.headers[name] for name in _FORWARDED if name in call.headers}
        headers["Authorization"] = f"Bot {token}"
        query = f"?{call.query}" if call.query else ""
        url = URL(f"{self.api_base}{call.path}{query}", encoded=True)
        assert self._session is not None, "the app was not started"
        try:
            async with self._session.request(
                call.method,
                url,
                data=call.body or None,
                headers=headers,
                allow_redirects=False,
                # Counted and timed per attempt, inside the rate limiter's retries.
                middlewares=(self._middleware(tenant), RestObserver(tenant)),
            ) as upstream:
                data = await upstream.read()
                returned = {
                    name: value
                    for name, value in upstream.headers.items()
                    if name.lower() not in _NOT_RETURNED
                    and not name.lower().startswith("x-ratelimit-")
                }
                return web.Response(status=upstream.status, body=data, headers=returned)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The template, not the path: a webhook path holds an interaction token.
            template = route_of(call.method, call.path).template
            log.warning("tenant %s: %s %s failed: %r", tenant, call.method, template, exc)
            return _error(502, "Discord could not be reached")

    async def _relay(self, tenant: str, call: _Call) -> bool | _Call | object:
        """An interaction response for the HTTP ingress: relayed, or rewritten if it deferred.

        True: the ingress took it. A ``_Call``: the ingress had deferred, so the
        answer becomes an edit of the original response. ``_DONE``: nothing to send
        (a deferral after the ingress's own). False: send the call as it is.
        """
        match = _CALLBACK.match(call.path)
        if self.relay is None or call.method != "POST" or match is None:
            return False
        content_type = call.headers.get("Content-Type", "application/json")
        answer = Answer(content_type=content_type, body=call.body)
        relayed = await relay_answer(self.relay, tenant, int(match[1]), answer)
        if not isinstance(relayed, Deferred):
            return relayed
        try:
            late = msgspec.json.decode(call.body, type=_Callback)
        except msgspec.DecodeError:
            return False  # multipart or odd: Discord says what is wrong with it
        if late.type in _DEFERRALS:
            return _DONE
        if late.type not in _EDITS or not relayed.application_id:
            return False  # a modal cannot follow a deferral; Discord will say so
        original = f"/webhooks/{relayed.application_id}/{match[2]}/messages/@original"
        body = msgspec.json.encode(late.data or {})
        return _Call("PATCH", original, "", body, {"Content-Type": "application/json"})

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)

    def _middleware(self, tenant: str) -> RateLimitMiddleware:
        middleware = self._middlewares.get(tenant)
        if middleware is None:
            middleware = RateLimitMiddleware(self.limiter, tenant, self.retry)
            self._middlewares[tenant] = middleware
        return middleware


def _error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=msgspec.json.encode(_Error(message=message)),
        content_type="application/json",
    )
