"""Ratings members give their closed tickets, one per ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from standalone.db.connection import Database
from standalone.db.records import to_struct


class Feedback(msgspec.Struct, frozen=True, kw_only=True):
    """A member's rating of a ticket; ``comment`` is encrypted at rest."""

    guild_id: str
    user_id: str
    rating: int
    comment: str | None = None
    created_at: datetime | None = None


class FeedbackRepository:
    """Every query carries the tenant, so one tenant's code cannot reach another's rows."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self.tenant = tenant

    def _vars(self, **values: Any) -> dict[str, Any]:
        return {"tenant": self.tenant, **values}

    async def get(self, guild_id: str, number: int) -> Feedback | None:
        """The feedback given for a ticket, if any."""
        row = await self._db.one(
            "SELECT * FROM ONLY type::thing('feedback', [$tenant, $guild, $number]);",
            self._vars(guild=guild_id, number=number),
        )
        return to_struct(row, Feedback) if row else None

    async def save(
        self, guild_id: str, number: int, user_id: str, rating: int, comment: str | None
    ) -> Feedback:
        """Store the ticket's feedback; a second submit replaces the first."""
        if not 1 <= rating <= 5:
            raise ValueError("rating must be 1 to 5")
        row = await self._db.one(
            "UPSERT ONLY type::thing('feedback', [$tenant, $guild, $number]) MERGE {"
            "tenant: $tenant, ticket: type::thing('ticket', [$tenant, $guild, $number]), "
            "guild_id: $guild, user_id: $user, rating: $rating, comment: $comment};",
            self._vars(guild=guild_id, number=number, user=user_id, rating=rating, comment=comment),
        )
        return to_struct(row, Feedback)
