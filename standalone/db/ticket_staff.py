"""The ticket fields staff tools change that a plain MERGE cannot set."""

from __future__ import annotations

from typing import Any

from standalone.db.connection import Database
from standalone.db.records import Ticket, record_key, to_struct

_SET_CATEGORY = (
    "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) "
    "SET category = type::thing('category', $cat);"
)
_SET_PRIORITY = (
    "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) SET priority = $priority;"
)
# NONE, which an optional field takes; a NULL it refuses.
_CLEAR_PRIORITY = (
    "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) SET priority = NONE;"
)


def _ticket(row: dict[str, Any]) -> Ticket:
    return to_struct(row, Ticket, category=record_key(row["category"]))


class TicketStaffRepository:
    """Category moves and priorities of one tenant's tickets."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self.tenant = tenant

    async def set_category(self, ticket: Ticket, category_key: str) -> Ticket:
        """Put the ticket in another category (a record link, not a plain string)."""
        row = await self._db.one(
            _SET_CATEGORY,
            {
                "tenant": self.tenant,
                "guild": ticket.guild_id,
                "number": ticket.number,
                "cat": category_key,
            },
        )
        return _ticket(row)

    async def set_priority(self, ticket: Ticket, priority: str | None) -> Ticket:
        """Set the priority; None clears it."""
        row = await self._db.one(
            _CLEAR_PRIORITY if priority is None else _SET_PRIORITY,
            {
                "tenant": self.tenant,
                "guild": ticket.guild_id,
                "number": ticket.number,
                "priority": priority,
            },
        )
        return _ticket(row)
