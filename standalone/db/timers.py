"""Due-time jobs (stale warnings, auto-close, close requests) kept in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from standalone.db.batched import Statement, batched
from standalone.db.connection import Database
from standalone.db.records import Timer, to_struct

# Made for every message in a ticket (its stale timer): run with other handlers' rows.
_SCHEDULE = Statement(
    write="UPSERT type::thing('timer', [$r.tenant, $r.guild, $r.number, $r.kind]) MERGE "
    "{tenant: $r.tenant, guild_id: $r.guild, number: $r.number, kind: $r.kind, due_at: $r.due, "
    "attempt_until: NONE} RETURN NONE",
    read="SELECT * FROM ONLY type::thing('timer', [$r.tenant, $r.guild, $r.number, $r.kind])",
)
_DROP = Statement(write="DELETE type::thing('timer', [$r.tenant, $r.guild, $r.number, $r.kind])")


class TimerRepository:
    """One timer per kind per ticket: scheduling again moves it, cancelling drops it."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self._batched = batched(db)
        self.tenant = tenant

    def _vars(self, **values: Any) -> dict[str, Any]:
        return {"tenant": self.tenant, **values}

    async def schedule(self, guild_id: str, number: int, kind: str, due_at: datetime) -> Timer:
        """Set (or move) the ticket's timer of this kind."""
        row = await self._batched.run(
            _SCHEDULE, self._vars(guild=guild_id, number=number, kind=kind, due=due_at)
        )
        return to_struct(row, Timer)

    async def drop(self, guild_id: str, number: int, kind: str) -> None:
        """Drop the ticket's timer of this kind, if there is one (``cancel`` without a count)."""
        await self._batched.run(_DROP, self._vars(guild=guild_id, number=number, kind=kind))

    async def cancel(self, guild_id: str, number: int, *kinds: str) -> int:
        """Drop the ticket's timers of these kinds (all kinds when none is given)."""
        removed = await self._db.one(
            "DELETE timer WHERE tenant = $tenant AND guild_id = $guild AND number = $number "
            "AND (array::len($kinds) = 0 OR kind IN $kinds) RETURN BEFORE;",
            self._vars(guild=guild_id, number=number, kinds=list(kinds)),
        )
        return len(removed or [])

    async def get(self, guild_id: str, number: int, kind: str) -> Timer | None:
        """The ticket's timer of this kind, if one is set."""
        row = await self._db.one(
            "SELECT * FROM ONLY type::thing('timer', [$tenant, $guild, $number, $kind]);",
            self._vars(guild=guild_id, number=number, kind=kind),
        )
        return to_struct(row, Timer) if row else None

    async def take_due(self, now: datetime, *, hold_ms: int, limit: int = 50) -> list[Timer]:
        """Claim due timers for ``hold_ms``; a claim not finished by then is taken again.

        The claim and the job's own idempotence together make a job run to the end
        once, even when the process dies in the middle of it.
        """
        rows = await self._db.one(
            "BEGIN TRANSACTION;"
            "LET $ids = (SELECT id, due_at FROM timer WHERE tenant = $tenant AND due_at <= $now "
            "AND (attempt_until IS NONE OR attempt_until <= $now) ORDER BY due_at LIMIT $limit).id;"
            "UPDATE $ids SET attempt_until = $now + <duration> $hold "
            "WHERE attempt_until IS NONE OR attempt_until <= $now;"
            "COMMIT TRANSACTION;",
            self._vars(now=now, hold=f"{hold_ms}ms", limit=limit),
        )
        return [to_struct(r, Timer) for r in rows or []]

    async def done(self, timer: Timer) -> None:
        """Remove a timer whose job finished, unless it was moved meanwhile."""
        await self._db.one(
            "DELETE type::thing('timer', [$tenant, $guild, $number, $kind]) WHERE due_at = $due;",
            self._vars(
                guild=timer.guild_id, number=timer.number, kind=timer.kind, due=timer.due_at
            ),
        )

    async def all(self) -> list[Timer]:
        """Every timer of the tenant, soonest first."""
        rows = await self._db.one(
            "SELECT * FROM timer WHERE tenant = $tenant ORDER BY due_at;", self._vars()
        )
        return [to_struct(r, Timer) for r in rows or []]
