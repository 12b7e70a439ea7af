"""In-process leases with fencing tokens."""

from __future__ import annotations

import time
from dataclasses import dataclass

from emulation.memory.clock import Clock, expiry_ms, now_ms
from emulation.ports import LeaseInfo


@dataclass(slots=True)
class _Held:
    owner: str
    token: int
    expires: int


def _expiry(clock: Clock, ttl_ms: int) -> int:
    expires = expiry_ms(clock, ttl_ms)
    if expires is None:
        raise ValueError("a lease needs a ttl_ms")
    return expires


class MemoryLeases:
    """Exclusive named leases; each new holding of a name gets a larger token."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, _Held] = {}
        # Kept after release and expiry, so a later holder never reuses a token
        # that a paused former holder might still present.
        self._last_token: dict[str, int] = {}

    def _current(self, name: str) -> _Held | None:
        held = self._held.get(name)
        if held is not None and now_ms(self._clock) >= held.expires:
            del self._held[name]
            return None
        return held

    async def acquire(self, name: str, owner: str, *, ttl_ms: int) -> int | None:
        expires = _expiry(self._clock, ttl_ms)
        held = self._current(name)
        if held is not None:
            if held.owner != owner:
                return None
            held.expires = expires
            return held.token
        token = self._last_token.get(name, 0) + 1
        self._last_token[name] = token
        self._held[name] = _Held(owner, token, expires)
        return token

    async def renew(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        expires = _expiry(self._clock, ttl_ms)
        held = self._current(name)
        if held is None or held.owner != owner:
            return False
        held.expires = expires
        return True

    async def release(self, name: str, owner: str) -> bool:
        held = self._current(name)
        if held is None or held.owner != owner:
            return False
        del self._held[name]
        return True

    async def holder(self, name: str) -> LeaseInfo | None:
        held = self._current(name)
        if held is None:
            return None
        remaining = held.expires - now_ms(self._clock)
        return LeaseInfo(owner=held.owner, token=held.token, ttl_ms=remaining)
