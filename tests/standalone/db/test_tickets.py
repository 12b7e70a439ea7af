from datetime import UTC, datetime

import pytest

from standalone.db import DatabaseError
from standalone.db.sdk import RecordID
from standalone.db.settings import SettingsRepository
from standalone.db.tickets import CategoryFull, TicketRepository


async def test_numbers_are_sequential_per_guild_and_tenant(db):
    a = TicketRepository(db, "a")
    b = TicketRepository(db, "b")
    cat = await a.save_category("1", "Support", "9", ["5"])
    other = await b.save_category("1", "Support", "9", ["5"])
    numbers = [(await a.create("1", cat.key, "7", f"i{n}", None)).number for n in range(3)]
    assert numbers == [1, 2, 3]
    assert (await b.create("1", other.key, "7", "i0", None)).number == 1
    assert (await a.create("2", cat.key, "7", "j0", None)).number == 1


async def test_same_interaction_cannot_open_twice_and_burns_no_number(db):
    repo = TicketRepository(db, "a")
    cat = await repo.save_category("1", "Support", "9", [])
    await repo.create("1", cat.key, "7", "i1", None)
    with pytest.raises(DatabaseError):
        await repo.create("1", cat.key, "7", "i1", None)
    assert (await repo.create("1", cat.key, "7", "i2", None)).number == 2
    assert len(await repo.tickets("1")) == 2


async def test_the_total_limit_is_counted_as_the_row_is_made(db):
    # Concurrent opens are serialised by the opening feature's lock (the embedded
    # engines were seen to let two concurrent transactions both take the last
    # place); this is the database's own second line, one create after another.
    repo = TicketRepository(db, "a")
    cat = await repo.save_category("1", "Support", "9", [])
    other = await repo.save_category("1", "Sales", "9", [])
    await repo.create("1", cat.key, "71", "i1", None, total_limit=2)
    await repo.create("1", cat.key, "72", "i2", None, total_limit=2)
    with pytest.raises(CategoryFull):
        await repo.create("1", cat.key, "73", "i3", None, total_limit=2)
    assert len(await repo.tickets("1")) == 2
    # Another category has its own limit; without a limit nothing is counted.
    await repo.create("1", other.key, "8", "j1", None, total_limit=1)
    await repo.create("1", other.key, "8", "j2", None)
    # A closed ticket frees its place.
    (first, *_) = await repo.tickets("1")
    await repo.abandon(first, "gone")
    assert (await repo.create("1", cat.key, "79", "i9", None, total_limit=2)).number == 5


async def test_one_tenant_cannot_see_another_tenants_rows(db):
    a = TicketRepository(db, "a")
    b = TicketRepository(db, "b")
    cat = await a.save_category("1", "Support", "9", [])
    ticket = await a.create("1", cat.key, "7", "i1", None)
    await a.mark_open("1", ticket.number, "555", None)
    assert await SettingsRepository(db, "b").category("1", cat.key) is None
    assert await SettingsRepository(db, "a").category("1", cat.key) is not None
    assert await b.by_channel("555") is None
    assert await b.by_interaction("i1") is None
    assert await b.get("1", ticket.number) is None
    assert await b.tickets() == []
    assert await b.count_active("1", "7", cat.key) == 0
    assert await a.count_active("1", "7", cat.key) == 1


async def test_close_counts_archived_messages(db):
    repo = TicketRepository(db, "a")
    cat = await repo.save_category("1", "Support", "9", [])
    ticket = await repo.mark_open(
        "1", (await repo.create("1", cat.key, "7", "i", None)).number, "5", None
    )
    for n in range(3):
        await repo.archive_message(
            ticket,
            message_id=str(n),
            author_id="7",
            author_name="al",
            author_bot=False,
            content="x",
            created_at=datetime.now(UTC),
        )
    # A redelivered message is stored once.
    await repo.archive_message(
        ticket,
        message_id="0",
        author_id="7",
        author_name="al",
        author_bot=False,
        content="x",
        created_at=datetime.now(UTC),
    )
    closing = await repo.mark_closing(ticket, "7", None)
    closed = await repo.mark_closed(closing, "transcripts/1/1.html")
    assert (closed.state, closed.message_count, closed.closed_by) == ("closed", 3, "7")
    assert closed.closed_at is not None
    assert await repo.count_active("1", "7", cat.key) == 0


async def test_schema_refuses_bad_values(db):
    with pytest.raises(DatabaseError):
        await db.one(
            "CREATE feedback CONTENT {tenant: 'a', ticket: ticket:x, guild_id: '1', "
            "user_id: '2', rating: 9};"
        )
    assert await db.one("SELECT * FROM feedback;") == []


async def test_a_categorys_open_count_reads_only_that_category(db):
    """Counted at every panel click: by index, not by reading every ticket of the guild."""
    settings = SettingsRepository(db, "alpha")
    mine = await settings.create_category("1", "Mine")
    other = await settings.create_category("1", "Other")
    tickets = TicketRepository(db, "alpha")
    for n in range(6):
        made = await tickets.create("1", (mine, other)[n % 2].key, str(n), str(100 + n), None)
        if n < 4:
            await tickets.mark_open("1", made.number, str(200 + n), None)
    # Open ones and fresh opening ones count, per category and per member.
    assert await tickets.count_open_in_category("1", mine.key) == 3
    assert await tickets.count_active("1", "0", mine.key) == 1
    assert await tickets.count_active("1", "1", mine.key) == 0
    plan = await db.one(
        "SELECT id FROM ticket WHERE tenant = $tenant AND guild_id = '1' "
        "AND category = $category AND state = 'open' EXPLAIN;",
        {"tenant": "alpha", "category": RecordID("category", mine.key)},
    )
    assert plan[0]["detail"]["plan"]["index"] == "ticket_category", plan
