"""Discord's REST rate limits, enforced: per-route buckets, the global limit, 429s.

Buckets are computed as Discord does: requests to one route template share a
bucket (its hash is ``X-RateLimit-Bucket``), and each value of the route's
major parameter (``channel_id``, ``guild_id``, ``webhook_id`` + token, an
interaction's id + token) counts separately. Limits are per bot token.
Interaction callbacks and webhooks are not bound to the bot's global limit.

Windows are fixed, as Discord's are: one opens with the first request of a
bucket and lasts ``window_s``; ``X-RateLimit-Reset-After`` counts down to its end.
A request over a limit is answered 429 and does not count. Tests read the
counters (``RateLimitCounters``) to prove a client never went over.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
from aiohttp import web

from .web_util import Handler

API_PREFIX = "/api/v10"

# Top-level path segments whose next segment(s) are the major parameter.
_MAJOR = {"channels": 1, "guilds": 1, "webhooks": 2, "interactions": 2}
# Routes authorized by an interaction or webhook token, not the bot's.
_TOKEN_ROUTES = frozenset({"webhooks", "interactions"})


class RouteLimit(msgspec.Struct, frozen=True):
    """``limit`` requests per ``window_s`` seconds in one bucket."""

    limit: int
    window_s: float


class RateLimitConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What the stand-in enforces; tests set small limits so a burst meets them fast.

    ``routes`` overrides ``default`` per route, keyed ``"METHOD /template"`` with
    aiohttp's placeholders, e.g. ``"POST /channels/{channel_id}/messages"``.
    """

    enabled: bool = True
    # Generous next to Discord's 5 per 5 s on message creation, so the bot's own
    # tests do not wait; Discord's global limit is 50 requests a second per bot.
    default: RouteLimit = RouteLimit(limit=50, window_s=1.0)
    routes: dict[str, RouteLimit] = {}
    global_limit: int = 50
    global_window_s: float = 1.0


class Ratelimited(msgspec.Struct, frozen=True, omit_defaults=True):
    """Discord's 429 body."""

    message: str
    retry_after: float
    # ``global`` is a Python keyword.
    is_global: bool = msgspec.field(name="global")
    code: int = 0


@dataclass
class _Window:
    opened: float
    count: int = 0


@dataclass
class RateLimitCounters:
    """What tests assert on: nothing admitted over a limit, and how close it came."""

    # Requests admitted per (bucket key, window opening), refused ones excluded.
    admitted: dict[tuple[str, float], int] = field(default_factory=dict)
    max_in_window: int = 0
    rejected: int = 0
    rejected_global: int = 0
    limited_requests: int = 0

    def record(self, key: str, window: _Window) -> None:
        slot = (key, window.opened)
        self.admitted[slot] = count = self.admitted.get(slot, 0) + 1
        self.max_in_window = max(self.max_in_window, count)


def bucket_hash(method: str, template: str) -> str:
    """The opaque ``X-RateLimit-Bucket`` of a route (no major parameters in it)."""
    digest = hashlib.sha1(f"{method} {template}".encode(), usedforsecurity=False)
    return digest.hexdigest()[:32]


def major_parameter(path: str) -> str:
    """``channels/1``, ``webhooks/2/<token>``… of an API path without its prefix; "" if none."""
    parts = path.strip("/").split("/")
    width = _MAJOR.get(parts[0], 0) if parts else 0
    if width == 0 or len(parts) <= width:
        return ""
    return "/".join(parts[: width + 1])


class RateLimiter:
    """Counts requests per bucket and per bot, and refuses the ones over a limit."""

    def __init__(
        self,
        config: RateLimitConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or RateLimitConfig()
        self.counters = RateLimitCounters()
        # Tests may swap the clock to open a new window without waiting for it.
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def configure(self, config: RateLimitConfig) -> None:
        """New limits from now on; open windows and counters are forgotten."""
        self.config = config
        self.counters = RateLimitCounters()
        self._windows.clear()

    def install(self, app: web.Application) -> None:
        """Add the middleware; put it before the REST middleware so 429s skip handlers."""
        app.middlewares.append(self.middleware)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not self.config.enabled or not path.startswith(API_PREFIX):
            return await handler(request)
        resource = request.match_info.route.resource
        if resource is None:  # no route: Discord answers 404 without a bucket
            return await handler(request)
        template = resource.canonical.removeprefix(API_PREFIX)
        api_path = path.removeprefix(API_PREFIX)
        limit = self.config.routes.get(f"{request.method} {template}", self.config.default)
        bucket = bucket_hash(request.method, template)
        identity = _identity(request, api_path)
        key = f"{identity}|{bucket}|{major_parameter(api_path)}"
        now = self.clock()
        self.counters.limited_requests += 1

        window = self._window(key, limit, now)
        if window.count >= limit.limit:
            self.counters.rejected += 1
            retry = window.opened + limit.window_s - now
            return _too_many(bucket, limit, retry, scope="user")
        if api_path.strip("/").split("/")[0] not in _TOKEN_ROUTES:
            glob = self._window(f"{identity}|global", self._global(), now)
            if glob.count >= self.config.global_limit:
                self.counters.rejected += 1
                self.counters.rejected_global += 1
                retry = glob.opened + self.config.global_window_s - now
                return _too_many(bucket, limit, retry, scope="global")
            glob.count += 1
        window.count += 1
        self.counters.record(key, window)
        response = await handler(request)
        reset_after = max(0.0, window.opened + limit.window_s - now)
        response.headers.update(
            {
                "X-RateLimit-Limit": str(limit.limit),
                "X-RateLimit-Remaining": str(max(0, limit.limit - window.count)),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": bucket,
                "Via": "1.1 google",
            }
        )
        return response

    def _global(self) -> RouteLimit:
        return RouteLimit(limit=self.config.global_limit, window_s=self.config.global_window_s)

    def _window(self, key: str, limit: RouteLimit, now: float) -> _Window:
        window = self._windows.get(key)
        if window is None or now >= window.opened + limit.window_s:
            window = self._windows[key] = _Window(opened=now)
        return window


def _identity(request: web.Request, api_path: str) -> str:
    """Whose limits apply: a hash of the bot token, or the interaction/webhook token."""
    if api_path.strip("/").split("/")[0] in _TOKEN_ROUTES:
        return "token-route"  # the major parameter carries the token
    header = request.headers.get("Authorization", "")
    return hashlib.sha256(header.encode()).hexdigest()[:16]


def _too_many(bucket: str, limit: RouteLimit, retry_after: float, *, scope: str) -> web.Response:
    retry_after = max(retry_after, 0.001)
    is_global = scope == "global"
    body = Ratelimited(
        message="You are being rate limited.",
        retry_after=round(retry_after, 3),
        is_global=is_global,
    )
    headers = {
        "Retry-After": str(math.ceil(retry_after)),
        "X-RateLimit-Scope": scope,
        # Discord's own 429s pass its Google front end; a Cloudflare ban has no Via.
        "Via": "1.1 google",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers.update(
            {
                "X-RateLimit-Limit": str(limit.limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": bucket,
            }
        )
    return web.Response(
        body=msgspec.json.encode(body),
        status=429,
        content_type="application/json",
        headers=headers,
    )
