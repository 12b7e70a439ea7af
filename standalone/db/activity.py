"""What happens in an open ticket: who claimed it, its last message, its stale warning."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from standalone.db.batched import Statement, batched
from standalone.db.connection import Database, DatabaseError
from standalone.db.records import Ticket
from standalone.db.tickets import _ticket

_TICKET = "type::thing('ticket', [$tenant, $guild, $number])"
# Made for every message in a ticket: run with the other handlers' rows (db.batched).
# last_author_staff first: it compares against the old last_message_at;
# first_responder before first_response_at, which it checks.
_MESSAGE = Statement(
    write="UPDATE type::thing('ticket', [$r.tenant, $r.guild, $r.number]) "
    "SET last_author_staff = IF last_message_at IS NONE OR last_message_at <= $r.at "
    "THEN $r.staff ELSE last_author_staff END, "
    "last_message_at = IF last_message_at IS NONE OR last_message_at < $r.at "
    "THEN $r.at ELSE last_message_at END, "
    "first_responder = IF $r.staff AND first_response_at IS NONE "
    "THEN $r.author ELSE first_responder END, "
    "first_response_at = IF $r.staff AND first_response_at IS NONE "
    "THEN $r.at ELSE first_response_at END RETURN NONE",
    read="SELECT * FROM ONLY type::thing('ticket', [$r.tenant, $r.guild, $r.number])",
)
_NOTE_MESSAGE = Statement(write=_MESSAGE.write)


class ActivityRepository:
    """Conditional updates, so a redelivered event cannot undo a newer one."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self._batched = batched(db)
        self.tenant = tenant

    def _vars(self, ticket: Ticket, **values: Any) -> dict[str, Any]:
        return {"tenant": self.tenant, "guild": ticket.guild_id, "number": ticket.number, **values}

    async def _update(self, ticket: Ticket, assignment: str, **values: Any) -> Ticket:
        # Only this module's constant SQL is interpolated; values travel as variables.
        row = await self._db.one(
            f"UPDATE {_TICKET} {assignment}; SELECT * FROM ONLY {_TICKET};",  # noqa: S608
            self._vars(ticket, **values),
        )
        if row is None:
            raise DatabaseError(f"ticket #{ticket.number} of guild {ticket.guild_id} is gone")
        return _ticket(row)

    async def claim(self, ticket: Ticket, user_id: str) -> Ticket:
        """Record the claimer unless someone else holds the open ticket; returns the row."""
        return await self._update(
            ticket,
            "SET claimed_by = $user WHERE state = 'open' "
            "AND (claimed_by IS NONE OR claimed_by = $user)",
            user=user_id,
        )

    async def release(self, ticket: Ticket, claimer: str) -> Ticket:
        """Clear the claim if ``claimer`` still holds it; returns the row."""
        return await self._update(
            ticket, "SET claimed_by = NONE WHERE claimed_by = $user", user=claimer
        )

    async def message(
        self, ticket: Ticket, at: datetime, *, staff: bool, author: str | None = None
    ) -> Ticket:
        """A person wrote in the ticket at ``at``; an older (redelivered) message changes less.

        The first staff message also names its ``author`` as the first responder.
        """
        row = await self._batched.run(
            _MESSAGE, self._vars(ticket, at=at, staff=staff, author=author)
        )
        if row is None:
            raise DatabaseError(f"ticket #{ticket.number} of guild {ticket.guild_id} is gone")
        return _ticket(row)

    async def note_message(
        self, ticket: Ticket, at: datetime, *, staff: bool, author: str | None = None
    ) -> None:
        """``message`` without reading the ticket back, for a caller that does not need it."""
        await self._batched.run(
            _NOTE_MESSAGE, self._vars(ticket, at=at, staff=staff, author=author)
        )

    async def set_stale_message(self, ticket: Ticket, message_id: str) -> Ticket:
        """Remember the stale warning, so a message can take it back."""
        return await self._update(ticket, "SET stale_message_id = $mid", mid=message_id)

    async def clear_stale_message(self, ticket: Ticket, message_id: str) -> Ticket:
        """Forget the stale warning, unless a newer one replaced it meanwhile."""
        return await self._update(
            ticket, "SET stale_message_id = NONE WHERE stale_message_id = $mid", mid=message_id
        )
