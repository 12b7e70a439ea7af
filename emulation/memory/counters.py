"""In-process counters with expiry, for rate limits."""

from __future__ import annotations

import time
from collections import deque

from emulation import arguments
from emulation.arguments import INT64_MAX, INT64_MIN
from emulation.memory.clock import Clock, expiry_ms, now_ms

# Expired counters are only dropped when touched, so sweep now and then to keep
# one-off keys (a rate limit per user per minute) from piling up.
_SWEEP_EVERY = 4096


class MemoryCounters:
    """Integer counters; a counter past its TTL starts again from zero."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[int, int | None]] = {}
        self._since_sweep = 0
        # Per key, like the ALLOW script's sorted set: when the log expires
        # (window_ms after its last counted hit, that call's window) and the
        # times of the hits still in it, oldest first.
        self._windows: dict[str, tuple[int, deque[int]]] = {}

    async def incr(self, key: str, *, by: int = 1, ttl_ms: int | None = None) -> int:
        # Checked even when the key exists and its TTL would go unused, as the
        # valkey adapter's SET NX PX refuses it whatever the key holds.
        arguments.ttl(ttl_ms)
        arguments.increment(by)
        now = now_ms(self._clock)
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep(now)
        current = self._values.get(key)
        # Live at exactly its expiry, as a Valkey key is.
        if current is None or (current[1] is not None and now > current[1]):
            current = (0, expiry_ms(self._clock, ttl_ms))
        value = current[0] + by
        if not INT64_MIN <= value <= INT64_MAX:
            raise arguments.overflow(key, by)
        self._values[key] = (value, current[1])
        return value

    async def allow(self, key: str, *, limit: int, window_ms: int) -> bool:
        arguments.positive("limit", limit)
        arguments.positive("window_ms", window_ms)
        now = now_ms(self._clock)
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep(now)
        found = self._windows.get(key)
        if found is None or now > found[0]:
            # A new log, or one whose key Valkey would have expired.
            hits: deque[int] = deque()
        else:
            hits = found[1]
        # Each call counts the hits of its own window; a call with another
        # window sees the same log, as ZREMRANGEBYSCORE + ZCARD do.
        while hits and hits[0] <= now - window_ms:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        # PEXPIRE on each counted hit, with this call's window.
        self._windows[key] = (now + window_ms, hits)
        return True

    def _sweep(self, now: int) -> None:
        self._since_sweep = 0
        dead = [k for k, (_, exp) in self._values.items() if exp is not None and now > exp]
        for key in dead:
            del self._values[key]
        idle = [k for k, (expires, _) in self._windows.items() if now > expires]
        for key in idle:
            del self._windows[key]
