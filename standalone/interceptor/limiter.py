"""Discord's rate limits, learnt from its headers and kept in the coordination port.

Every process that calls Discord for a bot through a ``Limiter`` on the same
coordination backend shares one view of that bot's buckets, so several
interceptors (or aio processes) together stay under each limit.

How a call is admitted:

- a route never seen is probed: one call at a time (a ``set_if_absent`` key)
  until Discord's ``X-RateLimit-Bucket`` names its bucket;
- a known bucket admits a call when a sliding window of the learnt length plus
  ``margin_ms`` holds fewer calls than its limit (``Counters.allow``). The
  margin covers the spread in time between being admitted here and arriving at
  Discord, whose windows are fixed and open with the first call;
- calls bound by the global limit take a slot of the bot's global window too;
- ``Remaining: 0`` or a 429 blocks the bucket (or the whole bot, for a global
  429) until Discord's reset, for every instance.

Keys name tenants, never tokens; the major parameter of webhook and interaction
routes, which holds a token, is hashed (``Route.major_id``).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
import weakref
from collections.abc import Mapping

import msgspec

from emulation.ports import Cache, Counters
from standalone import keys
from standalone.interceptor.routes import Route

# A route whose successful answer carried no bucket: only the global limit applies.
NO_BUCKET = "-"
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class LimiterSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Limits that Discord does not announce in headers, and the limiter's pacing."""

    global_limit: int = 50
    global_window_ms: int = 1_000
    margin_ms: int = 250
    poll_ms: int = 20
    probe_ttl_ms: int = 10_000
    knowledge_ttl_ms: int = 24 * 3600 * 1000


class _Bucket(msgspec.Struct, frozen=True):
    limit: int
    window_ms: int


class Permit(msgspec.Struct, frozen=True):
    """What ``acquire`` granted; hand it back to ``learn`` or ``abandon``."""

    tenant: str
    route: Route
    bucket: str | None
    probe: str | None = None  # the probe key held, when this call learns the route


class _Ratelimited(msgspec.Struct):
    retry_after: float
    is_global: bool = msgspec.field(default=False, name="global")


class Limiter:
    """Admits calls under Discord's limits; one instance per process is enough."""

    def __init__(
        self, cache: Cache, counters: Counters, settings: LimiterSettings | None = None
    ) -> None:
        self.cache = cache
        self.counters = counters
        self.settings = settings or LimiterSettings()
        self._owner = uuid.uuid4().hex
        # One waiter per bucket in this process polls the backend; the rest queue here.
        # Weak: a bucket nobody waits on is forgotten.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def acquire(self, tenant: str, route: Route) -> Permit:
        """Wait until the call may be sent; the returned permit is used up by it."""
        local = f"{tenant}|{route.route_id}|{route.major_id}"
        async with self._lock(local):
            permit = await self._route_slot(tenant, route)
        if route.global_bound:
            async with self._lock(f"{tenant}|global"):
                await self._global_slot(tenant)
        return permit

    async def abandon(self, permit: Permit) -> None:
        """The call was not answered: let another call probe the route."""
        if permit.probe is not None:
            await self.cache.delete(permit.probe)

    async def learn(
        self, permit: Permit, status: int, headers: Mapping[str, str], body: bytes = b""
    ) -> float | None:
        """Take in Discord's answer; returns the seconds to wait before a retry on a 429."""
        tenant, route = permit.tenant, permit.route
        bucket = headers.get("X-RateLimit-Bucket")
        try:
            if bucket is not None:
                await self._learn_bucket(permit, bucket, headers, status)
            elif permit.probe is not None and 200 <= status < 300:
                await self.cache.set(
                    keys.rest_route(tenant, route.route_id),
                    NO_BUCKET.encode(),
                    ttl_ms=self.settings.knowledge_ttl_ms,
                )
        finally:
            await self.abandon(permit)
        if status != 429:
            return None
        return await self._learn_429(permit, bucket, headers, body)

    # -- admission ------------------------------------------------------------------------

    async def _route_slot(self, tenant: str, route: Route) -> Permit:
        poll = self.settings.poll_ms / 1000
        while True:
            if route.global_bound:
                await self._wait_unblocked(keys.rest_global_block(tenant))
            raw = await self.cache.get(keys.rest_route(tenant, route.route_id))
            bucket = None if raw is None else raw.decode()
            if bucket == NO_BUCKET:
                return Permit(tenant=tenant, route=route, bucket=None)
            info = None if bucket is None else await self._bucket(tenant, bucket)
            if bucket is None or info is None:
                probe = keys.rest_probe(tenant, route.route_id, route.major_id)
                if await self.cache.set_if_absent(
                    probe, self._owner.encode(), ttl_ms=self.settings.probe_ttl_ms
                ):
                    return Permit(tenant=tenant, route=route, bucket=bucket, probe=probe)
                await asyncio.sleep(poll)
                continue
            await self._wait_unblocked(keys.rest_block(tenant, bucket, route.major_id))
            hits = keys.rest_hits(tenant, bucket, route.major_id)
            window = info.window_ms + self.settings.margin_ms
            if await self.counters.allow(hits, limit=info.limit, window_ms=window):
                return Permit(tenant=tenant, route=route, bucket=bucket)
            await asyncio.sleep(poll)

    async def _global_slot(self, tenant: str) -> None:
        settings = self.settings
        window = settings.global_window_ms + settings.margin_ms
        key = keys.rest_global(tenant)
        # Polling, not an Event: the slot may be freed by another process.
        while not await self.counters.allow(  # noqa: ASYNC110
            key, limit=settings.global_limit, window_ms=window
        ):
            await asyncio.sleep(settings.poll_ms / 1000)

    async def _wait_unblocked(self, key: str) -> None:
        while (raw := await self.cache.get(key)) is not None:
            until = _float(raw.decode()) or 0.0
            left = min(max(until - time.time(), 0.0), 1.0)
            await asyncio.sleep(left or self.settings.poll_ms / 1000)

    async def _bucket(self, tenant: str, bucket: str) -> _Bucket | None:
        raw = await self.cache.get(keys.rest_bucket(tenant, bucket))
        if raw is None:
            return None
        try:
            return msgspec.json.decode(raw, type=_Bucket)
        except msgspec.DecodeError:
            return None

    # -- learning -------------------------------------------------------------------------

    async def _learn_bucket(
        self, permit: Permit, bucket: str, headers: Mapping[str, str], status: int
    ) -> None:
        tenant, route = permit.tenant, permit.route
        ttl = self.settings.knowledge_ttl_ms
        limit = _int(headers.get("X-RateLimit-Limit"))
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        reset_after = _float(headers.get("X-RateLimit-Reset-After"))
        if limit is not None and limit > 0 and reset_after is not None and reset_after >= 0:
            reset_ms = math.ceil(reset_after * 1000)
            known = await self._bucket(tenant, bucket)
            # Reset-After is the whole window only for its first call; a longer one seen
            # later wins, so the learnt window never undercounts.
            window = max(reset_ms, known.window_ms if known else 0, 1)
            if permit.probe is not None:
                # The probe was sent uncounted. Count it before the bucket is published:
                # the calls waiting on the probe must find its slot taken.
                await self.counters.allow(
                    keys.rest_hits(tenant, bucket, route.major_id),
                    limit=limit,
                    window_ms=window + self.settings.margin_ms,
                )
            if known != _Bucket(limit, window):
                await self.cache.set(
                    keys.rest_bucket(tenant, bucket),
                    msgspec.json.encode(_Bucket(limit, window)),
                    ttl_ms=ttl,
                )
            if remaining == 0 and status != 429 and reset_ms > 0:
                await self._block(keys.rest_block(tenant, bucket, route.major_id), reset_after)
        if permit.bucket != bucket:
            route_key = keys.rest_route(tenant, route.route_id)
            await self.cache.set(route_key, bucket.encode(), ttl_ms=ttl)

    async def _learn_429(
        self, permit: Permit, bucket: str | None, headers: Mapping[str, str], body: bytes
    ) -> float:
        try:
            limited = msgspec.json.decode(body, type=_Ratelimited)
            retry_after, is_global = max(limited.retry_after, 0.0), limited.is_global
        except msgspec.DecodeError:
            retry_after = _float(headers.get("Retry-After")) or 1.0
            is_global = False
        is_global = is_global or headers.get("X-RateLimit-Global", "").lower() == "true"
        # A 429 while the bucket still has room is one of Discord's hidden limits (two
        # channel renames per ten minutes): the rest of the bucket's calls go on.
        sub_limit = (_int(headers.get("X-RateLimit-Remaining")) or 0) > 0
        if is_global:
            await self._block(keys.rest_global_block(permit.tenant), retry_after)
        elif bucket is not None and not sub_limit:
            await self._block(
                keys.rest_block(permit.tenant, bucket, permit.route.major_id), retry_after
            )
        return retry_after

    async def _block(self, key: str, seconds: float) -> None:
        ttl_ms = max(math.ceil(seconds * 1000), 1)
        await self.cache.set(key, f"{time.time() + seconds:.3f}".encode(), ttl_ms=ttl_ms)

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        result = None if value is None else float(value)
    except ValueError:
        return None
    return result if result is not None and math.isfinite(result) else None
