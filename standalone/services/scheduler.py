"""The scheduler service: fires a tenant's due timers, which live in the database.

Timers are rows, never only memory, so a restart loses none. One scheduler per
tenant fires at a time, across processes, through a lease; a taken timer is also
held in the database for ``hold_ms``, so even two schedulers that both believe
they hold the lease cannot take the same timer twice while its job runs. A job
that fails stays in the database and is taken again once its hold expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from emulation.ports import Leases
from standalone import keys
from standalone.config import SchedulerConfig
from standalone.db.records import Timer
from standalone.db.timers import TimerRepository
from standalone.observability import context
from standalone.tracing import new_traceparent

log = logging.getLogger(__name__)

FireTimer = Callable[[Timer], Awaitable[bool]]


def _now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Polls one tenant's due timers while it holds the tenant's scheduler lease."""

    def __init__(
        self,
        *,
        tenant: str,
        timers: TimerRepository,
        fire: FireTimer,
        leases: Leases,
        owner: str,
        settings: SchedulerConfig,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.tenant = tenant
        self.timers = timers
        self.fire = fire
        self.leases = leases
        self.owner = owner
        self.settings = settings
        self.clock = clock
        self.lease = keys.scheduler_lease(tenant)
        self.fired = 0
        self.failed = 0
        self._held_until = 0.0  # loop time until which the lease is surely ours
        self._stopping = asyncio.Event()

    @property
    def leading(self) -> bool:
        """True while this scheduler holds the lease (as far as it can know)."""
        return asyncio.get_running_loop().time() < self._held_until

    async def run(self) -> None:
        """Fire due timers every ``interval_ms`` until stopped; releases the lease on exit."""
        interval = self.settings.interval_ms / 1000
        try:
            while not self._stopping.is_set():
                try:
                    if await self._keep_lease():
                        await self.tick()
                except Exception:
                    # The database or the coordination backend is away: try again later
                    # rather than end the service.
                    log.exception("scheduler of %s: poll failed", self.tenant)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), interval)
        finally:
            self._held_until = 0.0
            with contextlib.suppress(Exception):
                await self.leases.release(self.lease, self.owner)

    def stop(self) -> None:
        """Finish the job in hand, then end ``run``."""
        self._stopping.set()

    async def _keep_lease(self) -> bool:
        loop = asyncio.get_running_loop()
        started = loop.time()
        ttl = self.settings.lease_ttl_ms
        if self._held_until > started:
            held = await self.leases.renew(self.lease, self.owner, ttl_ms=ttl)
        else:
            held = await self.leases.acquire(self.lease, self.owner, ttl_ms=ttl) is not None
        if not held and self._held_until > 0:
            log.warning("scheduler of %s lost its lease", self.tenant)
        # Counted from before the request: the lease may have been granted at its start.
        self._held_until = started + ttl / 1000 if held else 0.0
        return held

    async def tick(self) -> int:
        """Fire the timers due now; returns how many jobs finished."""
        due = await self.timers.take_due(self.clock(), hold_ms=self.settings.hold_ms)
        finished = 0
        for timer in due:
            if self._stopping.is_set() or not self.leading:
                # What is left stays held for hold_ms and is then taken again.
                break
            if await self._fire_one(timer):
                finished += 1
        return finished

    async def _fire_one(self, timer: Timer) -> bool:
        with context.bound(
            tenant_name=self.tenant,
            guild_id=timer.guild_id,
            ticket_id=str(timer.number),
            traceparent=new_traceparent(),
        ):
            return await self._fire_traced(timer)

    async def _fire_traced(self, timer: Timer) -> bool:
        try:
            handled = await self.fire(timer)
        except Exception:
            self.failed += 1
            log.exception(
                "timer %s of ticket %s#%s failed; retried after %s ms",
                timer.kind,
                timer.guild_id,
                timer.number,
                self.settings.hold_ms,
            )
            return False
        if not handled:
            log.warning("no feature handles timers of kind %r; kept for later", timer.kind)
            return False
        await self.timers.done(timer)
        self.fired += 1
        return True
