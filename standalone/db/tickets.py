"""Guilds, categories, tickets and their archive, always within one tenant."""

from __future__ import annotations

import math
import secrets
from datetime import datetime
from typing import Any

import msgspec

from standalone.db.batched import Statement, batched
from standalone.db.connection import Database, DatabaseError
from standalone.db.records import (
    Answer,
    ArchivedMessage,
    Category,
    Ticket,
    record_key,
    to_struct,
)
from standalone.db.sdk import RecordID
from standalone.db.shared_reads import read_once
from standalone.observability.context import note_ticket

_CONFLICT_RETRIES = 5
_STATS_TICKETS = 1000  # closed tickets the opening message's averages look at
_CATEGORY_FULL = "TICKET_CATEGORY_FULL"  # THROWn inside the transaction, matched after

# Made for every message in a ticket: run with the other handlers' rows (db.batched).
_BY_CHANNEL = Statement(
    read="SELECT * FROM ticket WHERE tenant = $r.tenant AND channel_id = $r.channel"
)
_ARCHIVE = Statement(
    write="UPSERT type::thing('archived_message', [$r.tenant, $r.mid]) MERGE {tenant: $r.tenant, "
    "ticket: type::thing('ticket', [$r.tenant, $r.guild, $r.number]), message_id: $r.mid, "
    "author_id: $r.author, author_name: $r.name, author_bot: $r.bot, content: $r.content, "
    "created_at: $r.at, external: $r.external} RETURN NONE"
)


# A category's open tickets (those opening for under 15 minutes too); ``$category``
# is its record id. Two counts, each an equality on every field of the
# ``ticket_category`` index (``ticket_creator`` for a member's own): with an ``OR``
# of the states the engine read every ticket of the guild.
_OPEN_IN_CATEGORY = (
    "(count(SELECT id FROM ticket WHERE tenant = $tenant AND guild_id = $guild "
    "AND category = $category AND state = 'open') + "
    "count(SELECT id FROM ticket WHERE tenant = $tenant AND guild_id = $guild "
    "AND category = $category AND state = 'opening' AND created_at > time::now() - 15m))"
)
_MEMBERS_OPEN_IN_CATEGORY = (
    "(count(SELECT id FROM ticket WHERE tenant = $tenant AND guild_id = $guild "
    "AND creator_id = $creator AND state = 'open' AND category = $category) + "
    "count(SELECT id FROM ticket WHERE tenant = $tenant AND guild_id = $guild "
    "AND creator_id = $creator AND state = 'opening' AND category = $category "
    "AND created_at > time::now() - 15m))"
)


class CategoryFull(Exception):
    """The category had as many open tickets as its total limit allows."""


class CategoryStats(msgspec.Struct, frozen=True, kw_only=True):
    """v4's live figures for a category's opening message; None where nothing is known."""

    response_s: float | None = None
    resolution_s: float | None = None
    rating: float | None = None


def _ticket(row: dict[str, Any]) -> Ticket:
    return to_struct(row, Ticket, category=record_key(row["category"]))


def _one(row: dict[str, Any]) -> Ticket:
    """The ticket an event is about: the rest of its log lines name it."""
    ticket = _ticket(row)
    note_ticket(ticket.guild_id, ticket.number)
    return ticket


class TicketRepository:
    """Every query carries the tenant, so one tenant's code cannot reach another's rows."""

    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self._batched = batched(db)
        self.tenant = tenant

    @property
    def database(self) -> Database:
        """The database, for repositories of the same tenant's other tables."""
        return self._db

    def _vars(self, **values: Any) -> dict[str, Any]:
        return {"tenant": self.tenant, **values}

    async def _run_retrying(self, sql: str, variables: dict[str, Any]) -> Any:
        # Optimistic transactions of the embedded store can conflict under load;
        # the statement is idempotent up to its unique indexes, so retry.
        for attempt in range(_CONFLICT_RETRIES):
            try:
                return await self._db.one(sql, variables)
            except DatabaseError as exc:
                if "conflict" not in str(exc).lower() or attempt == _CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # Categories

    async def save_category(
        self,
        guild_id: str,
        name: str,
        discord_category: str | None,
        staff_roles: list[str],
        interaction_id: str | None = None,
    ) -> Category:
        """Create the category, or update the one of that name in the guild."""
        existing = await self._db.one(
            "SELECT * FROM category WHERE tenant = $tenant AND guild_id = $guild AND name = $name;",
            self._vars(guild=guild_id, name=name),
        )
        key = record_key(existing[0]["id"]) if existing else secrets.token_hex(6)
        if discord_category is None and existing:
            discord_category = existing[0].get("discord_category")
        row = await self._db.one(
            "UPSERT ONLY type::thing('category', $key) MERGE {tenant: $tenant, guild_id: $guild, "
            "name: $name, discord_category: $dc, staff_roles: $staff, interaction_id: $iid};",
            self._vars(
                key=key,
                guild=guild_id,
                name=name,
                dc=discord_category,
                staff=staff_roles,
                iid=interaction_id,
            ),
        )
        return to_struct(row, Category, key=key)

    async def category_by_interaction(self, interaction_id: str) -> Category | None:
        """The category a (possibly redelivered) ``/panel`` interaction saved."""
        rows = await self._db.one(
            "SELECT * FROM category WHERE tenant = $tenant AND interaction_id = $iid;",
            self._vars(iid=interaction_id),
        )
        return to_struct(rows[0], Category, key=record_key(rows[0]["id"])) if rows else None

    async def set_category_channel(self, category: Category, discord_category: str) -> Category:
        """Record the Discord category channel made for a category."""
        row = await self._db.one(
            "UPDATE ONLY type::thing('category', $key) SET discord_category = $dc "
            "WHERE tenant = $tenant;",
            self._vars(key=category.key, dc=discord_category),
        )
        return to_struct(row, Category, key=category.key)

    # Tickets

    async def by_interaction(self, interaction_id: str) -> Ticket | None:
        """The ticket an interaction opened, if it did."""
        rows = await self._db.one(
            "SELECT * FROM ticket WHERE tenant = $tenant AND interaction_id = $iid;",
            self._vars(iid=interaction_id),
        )
        return _one(rows[0]) if rows else None

    async def by_channel(self, channel_id: str) -> Ticket | None:
        """The ticket whose channel this is (shared by one event's handlers: shared_reads)."""

        async def load() -> Ticket | None:
            rows = await self._batched.run(_BY_CHANNEL, self._vars(channel=channel_id))
            return _one(rows[0]) if rows else None

        return await read_once(("ticket-by-channel", self.tenant, channel_id), load)

    async def get(self, guild_id: str, number: int) -> Ticket | None:
        """A ticket by its per-guild number."""
        row = await self._db.one(
            "SELECT * FROM ONLY type::thing('ticket', [$tenant, $guild, $number]);",
            self._vars(guild=guild_id, number=number),
        )
        return _one(row) if row else None

    async def count_active(self, guild_id: str, creator_id: str, category_key: str) -> int:
        """Open tickets of a member in a category.

        An ``opening`` row counts only while its interaction could still be
        redelivered; an older one was abandoned and must not lock the member out.
        """
        count = await self._db.one(
            "RETURN " + _MEMBERS_OPEN_IN_CATEGORY + ";",
            self._vars(
                guild=guild_id, creator=creator_id, category=RecordID("category", category_key)
            ),
        )
        return int(count or 0)

    async def count_open_in_category(self, guild_id: str, category_key: str) -> int:
        """Open (or still opening) tickets of a category, for its total limit."""
        count = await self._db.one(
            "RETURN " + _OPEN_IN_CATEGORY + ";",
            self._vars(guild=guild_id, category=RecordID("category", category_key)),
        )
        return int(count or 0)

    async def last_opened_at(
        self, guild_id: str, creator_id: str, category_key: str
    ) -> datetime | None:
        """When the member last opened a ticket in the category (for its cooldown)."""
        rows = await self._db.one(
            "SELECT created_at FROM ticket WHERE tenant = $tenant AND guild_id = $guild "
            "AND creator_id = $creator AND category = type::thing('category', $cat) "
            "AND state != 'opening' ORDER BY created_at DESC LIMIT 1;",
            self._vars(guild=guild_id, creator=creator_id, cat=category_key),
        )
        return rows[0]["created_at"] if rows else None

    async def of_member(
        self, guild_id: str, creator_id: str, *, states: tuple[str, ...] = ("open",)
    ) -> list[Ticket]:
        """A member's tickets in a guild in the given states, newest first."""
        rows = await self._db.one(
            "SELECT * FROM ticket WHERE tenant = $tenant AND guild_id = $guild "
            "AND creator_id = $creator AND state IN $states ORDER BY number DESC LIMIT 100;",
            self._vars(guild=guild_id, creator=creator_id, states=list(states)),
        )
        return [_ticket(row) for row in rows or []]

    async def category_stats(self, guild_id: str, category_key: str) -> CategoryStats:
        """Averages over the category's latest closed tickets, for the opening message."""
        result = await self._db.run(
            "SELECT number, created_at, first_response_at, closed_at FROM ticket "
            "WHERE tenant = $tenant AND guild_id = $guild "
            "AND category = type::thing('category', $cat) AND state = 'closed' "
            "ORDER BY number DESC LIMIT $limit;"
            "RETURN math::mean((SELECT VALUE rating FROM feedback WHERE tenant = $tenant "
            "AND guild_id = $guild AND ticket.category = type::thing('category', $cat)));",
            self._vars(guild=guild_id, cat=category_key, limit=_STATS_TICKETS),
        )
        rows, rating = result[0] or [], result[1]
        responses = [
            (r["first_response_at"] - r["created_at"]).total_seconds()
            for r in rows
            if r.get("first_response_at")
        ]
        resolutions = [
            (r["closed_at"] - r["created_at"]).total_seconds() for r in rows if r.get("closed_at")
        ]
        return CategoryStats(
            response_s=sum(responses) / len(responses) if responses else None,
            resolution_s=sum(resolutions) / len(resolutions) if resolutions else None,
            # The mean of no ratings is NaN.
            rating=float(rating)
            if isinstance(rating, int | float) and math.isfinite(rating)
            else None,
        )

    async def save_answers(self, ticket: Ticket, answers: list[Answer]) -> None:
        """Store (or replace) the ticket's answers; values are already encrypted."""
        await self._db.run(
            "BEGIN TRANSACTION;"
            "FOR $a IN $answers { UPSERT type::thing('answer', [$tenant, $guild, $number, "
            "$a.question]) MERGE {tenant: $tenant, ticket: type::thing('ticket', "
            "[$tenant, $guild, $number]), question: $a.question, label: $a.label, "
            "position: $a.position, value: $a.value, updated_at: time::now()}; };"
            "COMMIT TRANSACTION;",
            self._vars(
                guild=ticket.guild_id,
                number=ticket.number,
                answers=[msgspec.structs.asdict(a) for a in answers],
            ),
        )

    async def answers(self, ticket: Ticket) -> list[Answer]:
        """The ticket's answers in form order."""
        rows = await self._db.one(
            "SELECT * FROM answer WHERE tenant = $tenant "
            "AND ticket = type::thing('ticket', [$tenant, $guild, $number]) ORDER BY position;",
            self._vars(guild=ticket.guild_id, number=ticket.number),
        )
        return [to_struct(row, Answer) for row in rows or []]

    async def update_fields(self, ticket: Ticket, **fields: Any) -> Ticket:
        """Set some fields of a ticket (names from the code, never from input)."""
        row = await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) MERGE $fields;",
            self._vars(guild=ticket.guild_id, number=ticket.number, fields=fields),
        )
        return _ticket(row)

    async def create(
        self,
        guild_id: str,
        category_key: str,
        creator_id: str,
        interaction_id: str,
        topic: str | None,
        total_limit: int | None = None,
    ) -> Ticket:
        """Take the guild's next number and record the ticket as ``opening``, atomically.

        The unique index on the interaction id makes a redelivered interaction fail
        here instead of opening a second ticket; callers look it up first. With
        ``total_limit``, a category that is full raises CategoryFull, counted in the
        same transaction. That alone did not stop two concurrent opens from both
        taking the last place on the embedded engines (3 times in 60 rounds on
        surrealkv), so the opening feature serialises opens per category with a lock
        in the coordination port; this count is the second line.
        """
        # The same count as count_open_in_category.
        full_check = "IF " + _OPEN_IN_CATEGORY + " >= $limit { THROW $full; };"
        if total_limit is None:
            full_check = ""
        try:
            row = await self._run_retrying(
                "BEGIN TRANSACTION;"
                + full_check
                + "LET $n = (UPSERT ONLY type::thing('guild', [$tenant, $guild]) "
                "SET tenant = $tenant, guild_id = $guild, next_number += 1 "
                "RETURN VALUE next_number);"
                "CREATE ONLY type::thing('ticket', [$tenant, $guild, $n]) CONTENT {"
                "tenant: $tenant, guild_id: $guild, number: $n, "
                "category: type::thing('category', $cat), creator_id: $creator, topic: $topic, "
                "state: 'opening', interaction_id: $iid};"
                "COMMIT TRANSACTION;",
                self._vars(
                    guild=guild_id,
                    cat=category_key,
                    category=RecordID("category", category_key),
                    creator=creator_id,
                    iid=interaction_id,
                    topic=topic,
                    limit=total_limit,
                    full=_CATEGORY_FULL,
                ),
            )
        except DatabaseError as exc:
            if _CATEGORY_FULL in str(exc):
                raise CategoryFull(category_key) from None
            raise
        return _one(row)

    async def mark_open(
        self, guild_id: str, number: int, channel_id: str, opening_message_id: str | None
    ) -> Ticket:
        """Record the ticket's channel once Discord created it."""
        row = await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) SET state = 'open', "
            "channel_id = $channel, opening_message_id = $message;",
            self._vars(
                guild=guild_id, number=number, channel=channel_id, message=opening_message_id
            ),
        )
        return _ticket(row)

    async def request_channel(self, guild_id: str, number: int) -> None:
        """Note that Discord is about to be asked for this ticket's channel."""
        await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) "
            "SET channel_requested = true;",
            self._vars(guild=guild_id, number=number),
        )

    async def set_channel(self, guild_id: str, number: int, channel_id: str) -> None:
        """Remember the channel as soon as it exists, before anything else can fail."""
        await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) "
            "SET channel_id = $channel;",
            self._vars(guild=guild_id, number=number, channel=channel_id),
        )

    async def abandon(self, ticket: Ticket, reason: str) -> Ticket:
        """Give up a ticket that could not be opened; it stays on record as closed."""
        row = await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) SET state = 'closed', "
            "closed_at = time::now(), closed_by = 'system', close_reason = $reason;",
            self._vars(guild=ticket.guild_id, number=ticket.number, reason=reason),
        )
        return _ticket(row)

    async def mark_closing(self, ticket: Ticket, closed_by: str, reason: str | None) -> Ticket:
        """First step of closing: nobody can use the ticket while it closes.

        The close time is fixed here, so a close resumed later reports the same one.
        """
        row = await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) SET state = 'closing', "
            "closed_by = $by, close_reason = $reason, closed_at = time::now(), "
            "close_request = NONE;",
            self._vars(guild=ticket.guild_id, number=ticket.number, by=closed_by, reason=reason),
        )
        return _ticket(row)

    async def set_close_request(self, ticket: Ticket, request: dict[str, Any] | None) -> Ticket:
        """Record (or, with None, drop) the ticket's pending close request."""
        row = await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) "
            "SET close_request = $request;",
            self._vars(guild=ticket.guild_id, number=ticket.number, request=request),
        )
        return _ticket(row)

    async def drop_close_request(self, ticket: Ticket, requested_at: datetime) -> Ticket | None:
        """Drop the pending close request made at ``requested_at``; None if it is gone."""
        rows = await self._db.one(
            "UPDATE type::thing('ticket', [$tenant, $guild, $number]) SET close_request = NONE "
            "WHERE close_request.at = $at;",
            self._vars(guild=ticket.guild_id, number=ticket.number, at=requested_at),
        )
        return _ticket(rows[0]) if rows else None

    async def set_pins(self, ticket: Ticket, message_ids: list[str]) -> Ticket:
        """Remember which messages were pinned when the ticket closed."""
        row = await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) "
            "SET pinned_message_ids = $ids;",
            self._vars(guild=ticket.guild_id, number=ticket.number, ids=message_ids),
        )
        return _ticket(row)

    async def reopen(self, ticket: Ticket) -> Ticket | None:
        """A closed ticket is open again; None when it was not closed (already reopened).

        A stale warning from before the close no longer applies to the reopened ticket.
        """
        rows = await self._db.one(
            "UPDATE type::thing('ticket', [$tenant, $guild, $number]) SET state = 'open', "
            "reopened += 1, closed_at = NONE, closed_by = NONE, close_reason = NONE, "
            "stale_message_id = NONE WHERE state = 'closed';",
            self._vars(guild=ticket.guild_id, number=ticket.number),
        )
        return _ticket(rows[0]) if rows else None

    async def active(self, guild_id: str | None = None) -> list[Ticket]:
        """Tickets not yet closed (opening, open, closing), optionally of one guild."""
        where = "tenant = $tenant AND state != 'closed'"
        where += " AND guild_id = $guild" if guild_id else ""
        rows = await self._db.one(
            f"SELECT * FROM ticket WHERE {where} ORDER BY guild_id, number;",  # noqa: S608
            self._vars(guild=guild_id),
        )
        return [_ticket(row) for row in rows or []]

    async def active_of(self, guild_id: str, creator_id: str) -> list[Ticket]:
        """A member's tickets in a guild that are not closed yet."""
        rows = await self._db.one(
            "SELECT * FROM ticket WHERE tenant = $tenant AND guild_id = $guild "
            "AND creator_id = $creator AND state != 'closed' ORDER BY number;",
            self._vars(guild=guild_id, creator=creator_id),
        )
        return [_ticket(row) for row in rows or []]

    async def mark_closed(self, ticket: Ticket, transcript_key: str | None) -> Ticket:
        """Last step of closing, after the transcript is stored and the channel is gone."""
        row = await self._db.one(
            "UPDATE ONLY type::thing('ticket', [$tenant, $guild, $number]) SET state = 'closed', "
            "closed_at = closed_at ?? time::now(), transcript_key = $key, close_request = NONE, "
            "message_count = count(SELECT id FROM archived_message WHERE tenant = $tenant "
            "AND ticket = type::thing('ticket', [$tenant, $guild, $number]));",
            self._vars(guild=ticket.guild_id, number=ticket.number, key=transcript_key),
        )
        return _ticket(row)

    async def tickets(self, guild_id: str | None = None) -> list[Ticket]:
        """This tenant's tickets, optionally of one guild, by guild and number."""
        where = "tenant = $tenant" + (" AND guild_id = $guild" if guild_id else "")
        rows = await self._db.one(
            f"SELECT * FROM ticket WHERE {where} ORDER BY guild_id, number;",  # noqa: S608
            self._vars(guild=guild_id),
        )
        return [_ticket(row) for row in rows or []]

    # Archive

    async def archive_message(
        self,
        ticket: Ticket,
        *,
        message_id: str,
        author_id: str,
        author_name: str,
        author_bot: bool,
        content: str,
        created_at: datetime,
        external: bool = False,
    ) -> None:
        """Store (or re-store, on redelivery) one message of a ticket.

        ``author_name`` and ``content`` come encrypted. ``external`` marks a message
        from elsewhere that the ticket refers to.
        """
        await self._batched.run(
            _ARCHIVE,
            self._vars(
                guild=ticket.guild_id,
                number=ticket.number,
                mid=message_id,
                author=author_id,
                name=author_name,
                bot=author_bot,
                content=content,
                at=created_at,
                external=external,
            ),
        )

    async def archived(self, ticket: Ticket) -> list[ArchivedMessage]:
        """The ticket's archived messages, oldest first."""
        rows = await self._db.one(
            "SELECT * FROM archived_message WHERE tenant = $tenant "
            "AND ticket = type::thing('ticket', [$tenant, $guild, $number]) "
            "ORDER BY created_at, message_id;",
            self._vars(guild=ticket.guild_id, number=ticket.number),
        )
        return [to_struct(row, ArchivedMessage) for row in rows or []]
