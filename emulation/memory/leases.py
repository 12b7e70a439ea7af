"""In-process leases with fencing tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from emulation.memory.aof import AppendOnlyFile
from emulation.memory.clock import Clock, expiry_ms, now_ms
from emulation.memory.records import Fence, LeaseRecord, LeaseReleased, LeaseRenewed, LeaseTaken
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
    """Exclusive named leases; each new holding of a name gets a larger token.

    With an ``aof`` every change is logged, the token counters included, so
    tokens never go backwards across a restart.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        aof: AppendOnlyFile | None = None,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._aof = aof
        self._held: dict[str, _Held] = {}
        # Kept after release and expiry, so a later holder never reuses a token
        # that a paused former holder might still present.
        self._last_token: dict[str, int] = {}

    def _current(self, name: str) -> _Held | None:
        held = self._held.get(name)
        # Still held at exactly its expiry, as a Valkey key is (see clock).
        if held is not None and now_ms(self._clock) > held.expires:
            del self._held[name]
            return None
        return held

    def _wall_expiry(self, expires: int) -> int:
        return int(self._wall_clock() * 1000) + (expires - now_ms(self._clock))

    async def acquire(self, name: str, owner: str, *, ttl_ms: int) -> int | None:
        expires = _expiry(self._clock, ttl_ms)
        held = self._current(name)
        if held is not None:
            if held.owner != owner:
                return None
            held.expires = expires
            if self._aof is not None:
                self._aof.log(LeaseRenewed(name, self._wall_expiry(expires)))
            return held.token
        token = self._last_token.get(name, 0) + 1
        self._last_token[name] = token
        self._held[name] = _Held(owner, token, expires)
        if self._aof is not None:
            self._aof.log(LeaseTaken(name, owner, token, self._wall_expiry(expires)))
        return token

    async def renew(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        expires = _expiry(self._clock, ttl_ms)
        held = self._current(name)
        if held is None or held.owner != owner:
            return False
        held.expires = expires
        if self._aof is not None:
            self._aof.log(LeaseRenewed(name, self._wall_expiry(expires)))
        return True

    async def release(self, name: str, owner: str) -> bool:
        held = self._current(name)
        if held is None or held.owner != owner:
            return False
        del self._held[name]
        if self._aof is not None:
            self._aof.log(LeaseReleased(name))
        return True

    async def holder(self, name: str) -> LeaseInfo | None:
        held = self._current(name)
        if held is None:
            return None
        remaining = held.expires - now_ms(self._clock)
        return LeaseInfo(owner=held.owner, token=held.token, ttl_ms=remaining)

    # --- persistence ---------------------------------------------------------

    def restore(self, record: LeaseRecord) -> None:
        """Apply one record read back from the append-only file."""
        if isinstance(record, LeaseTaken):
            self._last_token[record.name] = max(self._last_token.get(record.name, 0), record.token)
            expires = self._mono_expiry(record.expires_wall_ms)
            self._held[record.name] = _Held(record.owner, record.token, expires)
        elif isinstance(record, LeaseRenewed):
            held = self._held.get(record.name)
            if held is not None:
                held.expires = self._mono_expiry(record.expires_wall_ms)
        elif isinstance(record, LeaseReleased):
            self._held.pop(record.name, None)
        else:
            self._last_token[record.name] = max(self._last_token.get(record.name, 0), record.token)

    def clear(self) -> None:
        """Forget every lease and token, before a rebuild from the append-only file."""
        self._held.clear()
        self._last_token.clear()

    def _mono_expiry(self, wall_ms: int) -> int:
        # A lease that ran out while the process was down stays expired.
        return now_ms(self._clock) + (wall_ms - int(self._wall_clock() * 1000))

    def snapshot(self) -> list[LeaseRecord]:
        """The records that rebuild every token counter and live lease."""
        records: list[LeaseRecord] = [Fence(n, t) for n, t in self._last_token.items()]
        for name in list(self._held):
            held = self._current(name)
            if held is not None:
                wall = self._wall_expiry(held.expires)
                records.append(LeaseTaken(name, held.owner, held.token, wall))
        return records
