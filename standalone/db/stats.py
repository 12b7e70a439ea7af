"""Ticket statistics of one guild, aggregated by the database over a bounded window.

A staff member's tickets are those they claimed, and, of the unclaimed ones,
those they answered first (``first_responder``): a claim says who took a ticket
on even when a colleague happened to write first.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import msgspec

from standalone.db.connection import Database

MAX_DAYS = 365  # the longest window a question may ask about

# Only these constant fragments are put together; every value travels as a variable.
_CATEGORY = " AND category = type::thing('category', $cat)"
_MEMBER = " AND (claimed_by = $member OR (claimed_by IS NONE AND first_responder = $member))"


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    """Counts and averages; an average is None when nothing was there to average."""

    opened: int = 0
    closed: int = 0
    responded: int = 0
    response_s: float | None = None  # opened → first staff message
    resolution_s: float | None = None  # opened → closed
    rated: int = 0
    rating: float | None = None


def _number(value: Any) -> float | None:
    # The mean of nothing is NaN (or the group is missing altogether).
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _group(result: Any) -> dict[str, Any]:
    return result[0] if result else {}


class StatsRepository:
    """Every query carries the tenant, so one tenant's code cannot reach another's rows."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self.tenant = tenant

    async def summary(
        self,
        guild_id: str,
        since: datetime,
        until: datetime,
        *,
        category: str | None = None,
        member: str | None = None,
    ) -> Stats:
        """Tickets opened in [since, until) and their first responses, tickets closed in
        it and their resolution times, ratings given in it."""
        where = "tenant = $tenant AND guild_id = $guild"
        if category is not None:
            where += _CATEGORY
        if member is not None:
            where += _MEMBER
        rated_where = "tenant = $tenant AND guild_id = $guild" + (
            _CATEGORY.replace("category", "ticket.category", 1) if category else ""
        )
        if member is not None:
            rated_where += _MEMBER.replace("claimed_by", "ticket.claimed_by").replace(
                "first_responder", "ticket.first_responder"
            )
        opened = f"{where} AND created_at >= $since AND created_at < $until"
        closed = f"{where} AND state = 'closed' AND closed_at >= $since AND closed_at < $until"
        result = await self._db.run(
            f"SELECT count() AS n FROM ticket WHERE {opened} GROUP ALL;"  # noqa: S608
            "SELECT count() AS n, math::mean(duration::millis(first_response_at - created_at)) "
            f"AS mean FROM ticket WHERE {opened} AND first_response_at IS NOT NONE GROUP ALL;"
            "SELECT count() AS n, math::mean(duration::millis(closed_at - created_at)) AS mean "
            f"FROM ticket WHERE {closed} GROUP ALL;"
            "SELECT count() AS n, math::mean(rating) AS mean FROM feedback "
            f"WHERE {rated_where} AND created_at >= $since AND created_at < $until GROUP ALL;",
            {
                "tenant": self.tenant,
                "guild": guild_id,
                "cat": category,
                "member": member,
                "since": since,
                "until": until,
            },
        )
        opened_row, response, resolution, rating = (_group(r) for r in result)
        response_ms = _number(response.get("mean"))
        resolution_ms = _number(resolution.get("mean"))
        return Stats(
            opened=int(opened_row.get("n", 0)),
            responded=int(response.get("n", 0)),
            response_s=response_ms / 1000 if response_ms is not None else None,
            closed=int(resolution.get("n", 0)),
            resolution_s=resolution_ms / 1000 if resolution_ms is not None else None,
            rated=int(rating.get("n", 0)),
            rating=_number(rating.get("mean")),
        )
