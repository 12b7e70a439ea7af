"""Rows of concurrent callers go in one query; each caller gets its own answer or error."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from standalone.db import Database, DatabaseError
from standalone.db.activity import ActivityRepository
from standalone.db.batched import Batcher, Statement, batched
from standalone.db.tickets import TicketRepository

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)

PUT = Statement(
    write="UPSERT type::thing('note', $r.key) MERGE {text: $r.text} RETURN NONE",
    read="SELECT VALUE text FROM ONLY type::thing('note', $r.key)",
)
ADD = Statement(write="CREATE type::thing('note', $r.key) CONTENT {text: $r.text} RETURN NONE")
GET = Statement(read="SELECT VALUE text FROM ONLY type::thing('note', $r.key)")


class Counting(Database):
    """The same engine, counting the queries that reach it."""

    queries = 0
    rows_sent = 0

    async def run_each(
        self, sql: str, variables: Mapping[str, Any] | None = None
    ) -> list[tuple[bool, Any]]:
        self.queries += 1
        self.rows_sent += sum(len(rows) for rows in (variables or {}).values())
        return await super().run_each(sql, variables)


def counting(db: Database) -> Counting:
    return Counting(db._client)


async def test_rows_handed_in_together_share_one_query_and_each_gets_its_own_answer(db):
    counted = counting(db)
    batcher = Batcher(counted)
    answers = await asyncio.gather(
        *(batcher.run(PUT, {"key": f"k{i}", "text": f"t{i}"}) for i in range(20)),
        batcher.run(GET, {"key": "missing"}),
    )
    assert answers == [*(f"t{i}" for i in range(20)), None]
    assert counted.queries == 1
    # Committed by the time the callers have their answers.
    assert await db.one("SELECT VALUE text FROM ONLY note:k7;") == "t7"


async def test_the_same_read_asked_twice_in_one_query_is_sent_once(db):
    counted = counting(db)
    batcher = Batcher(counted)
    await batcher.run(PUT, {"key": "g", "text": "settings"})
    counted.queries = counted.rows_sent = 0
    answers = await asyncio.gather(
        *(batcher.run(GET, {"key": "g"}) for _ in range(10)),
        *(batcher.run(PUT, {"key": "g", "text": "settings"}) for _ in range(2)),
    )
    assert answers == ["settings"] * 12
    assert (counted.queries, counted.rows_sent) == (1, 3)  # writes are never merged


async def test_rows_handed_in_while_a_query_runs_go_in_the_next_one(db):
    counted = counting(db)
    batcher = Batcher(counted)
    first = asyncio.ensure_future(batcher.run(PUT, {"key": "a", "text": "1"}))
    await asyncio.sleep(0)  # the first query is on its way
    later = [asyncio.ensure_future(batcher.run(GET, {"key": "a"})) for _ in range(5)]
    assert await first == "1"
    assert await asyncio.gather(*later) == ["1"] * 5
    assert counted.queries == 2


async def test_a_row_that_fails_fails_its_own_caller_only(db):
    batcher = Batcher(db)
    await batcher.run(ADD, {"key": "taken", "text": "old"})
    answers = await asyncio.gather(
        batcher.run(ADD, {"key": "new1", "text": "a"}),
        batcher.run(ADD, {"key": "taken", "text": "b"}),
        batcher.run(ADD, {"key": "new2", "text": "c"}),
        batcher.run(PUT, {"key": "other", "text": "d"}),
        return_exceptions=True,
    )
    assert answers[0] is None and answers[2] is None and answers[3] == "d"
    assert isinstance(answers[1], DatabaseError) and "already exists" in str(answers[1])
    texts = await db.one("SELECT VALUE text FROM note ORDER BY text;")
    assert texts == ["a", "c", "d", "old"]


async def test_a_statement_that_cannot_run_fails_its_callers_not_the_others(db):
    batcher = Batcher(db)
    broken = Statement(write="UPSERT type::thing('note', $r.key) MERGE {{{")
    answers = await asyncio.gather(
        batcher.run(broken, {"key": "x"}),
        batcher.run(broken, {"key": "y"}),
        batcher.run(PUT, {"key": "z", "text": "fine"}),
        return_exceptions=True,
    )
    assert isinstance(answers[0], DatabaseError) and isinstance(answers[1], DatabaseError)
    assert answers[2] == "fine"


async def test_a_long_queue_is_sent_in_bounded_queries(db):
    counted = counting(db)
    batcher = Batcher(counted, max_rows=8)
    answers = await asyncio.gather(
        *(batcher.run(PUT, {"key": f"k{i}", "text": str(i)}) for i in range(20))
    )
    assert answers == [str(i) for i in range(20)]
    assert counted.queries == 3


async def test_a_cancelled_caller_returns_only_once_its_row_is_written(db):
    batcher = Batcher(db)
    call = asyncio.ensure_future(batcher.run(PUT, {"key": "c", "text": "kept"}))
    await asyncio.sleep(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await db.one("SELECT VALUE text FROM ONLY note:c;") == "kept"


async def test_archiving_a_redelivered_batch_keeps_one_row_per_message(db):
    tickets = TicketRepository(db, "a")
    category = await tickets.save_category("1", "Support", "9", [])
    ticket = await tickets.mark_open(
        "1", (await tickets.create("1", category.key, "7", "i1", None)).number, "100", None
    )

    async def archive(mid: str) -> None:
        await tickets.archive_message(
            ticket,
            message_id=mid,
            author_id="7",
            author_name="n",
            author_bot=False,
            content=f"c{mid}",
            created_at=T0,
        )

    await asyncio.gather(*(archive(str(i)) for i in range(10)))
    await asyncio.gather(*(archive(str(i)) for i in range(10)))  # delivered again
    assert [m.message_id for m in await tickets.archived(ticket)] == [str(i) for i in range(10)]


async def test_activity_of_many_tickets_at_once_returns_each_ticket(db):
    tickets = TicketRepository(db, "a")
    activity = ActivityRepository(db, "a")
    category = await tickets.save_category("1", "Support", "9", [])
    opened = []
    for i in range(5):
        ticket = await tickets.create("1", category.key, "7", f"i{i}", None)
        opened.append(await tickets.mark_open("1", ticket.number, str(100 + i), None))
    assert batched(db) is batched(db)  # one per connection, shared by the repositories
    updated = await asyncio.gather(
        *(activity.message(t, T0, staff=i % 2 == 0, author="8") for i, t in enumerate(opened))
    )
    assert [t.number for t in updated] == [t.number for t in opened]
    assert [t.last_author_staff for t in updated] == [True, False, True, False, True]
    assert all(t.last_message_at == T0 for t in updated)
