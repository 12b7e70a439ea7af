from datetime import UTC, datetime, timedelta

import pytest

from standalone.db import DatabaseError
from standalone.db.activity import ActivityRepository
from standalone.db.archive import ArchiveRepository
from standalone.db.tickets import TicketRepository

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


async def open_ticket(db, tenant="a"):
    repo = TicketRepository(db, tenant)
    category = await repo.save_category("1", "Support", "9", ["5"])
    ticket = await repo.create("1", category.key, "7", "i1", None)
    return await repo.mark_open("1", ticket.number, "100", "200")


async def test_a_redelivered_older_message_does_not_turn_back_the_clock(db):
    ticket = await open_ticket(db)
    activity = ActivityRepository(db, "a")
    later = T0 + timedelta(minutes=5)
    ticket = await activity.message(ticket, T0, staff=False)
    ticket = await activity.message(ticket, later, staff=True)
    assert ticket.first_response_at == later and ticket.last_author_staff
    ticket = await activity.message(ticket, T0, staff=False)  # redelivered
    assert ticket.last_message_at == later and ticket.last_author_staff is True
    ticket = await activity.message(ticket, later + timedelta(minutes=1), staff=True)
    assert ticket.first_response_at == later  # the first answer stays the first


async def test_only_one_claimer_and_only_the_claimer_clears(db):
    ticket = await open_ticket(db)
    activity = ActivityRepository(db, "a")
    assert (await activity.claim(ticket, "11")).claimed_by == "11"
    assert (await activity.claim(ticket, "11")).claimed_by == "11"  # a retry
    assert (await activity.claim(ticket, "12")).claimed_by == "11"
    assert (await activity.release(ticket, "12")).claimed_by == "11"
    assert (await activity.release(ticket, "11")).claimed_by is None
    # Another tenant's repository cannot touch this ticket.
    with pytest.raises(DatabaseError, match="is gone"):
        await ActivityRepository(db, "b").claim(ticket, "13")
    assert (await TicketRepository(db, "a").get("1", ticket.number)).claimed_by is None


async def test_a_stale_warning_is_cleared_only_if_it_is_still_the_current_one(db):
    ticket = await open_ticket(db)
    activity = ActivityRepository(db, "a")
    await activity.set_stale_message(ticket, "m2")
    assert (await activity.clear_stale_message(ticket, "m1")).stale_message_id == "m2"
    assert (await activity.clear_stale_message(ticket, "m2")).stale_message_id is None


async def test_edits_keep_earlier_versions_and_deletes_keep_content(db):
    ticket = await open_ticket(db)
    repo = TicketRepository(db, "a")
    for mid in ("m1", "m2"):
        await repo.archive_message(
            ticket,
            message_id=mid,
            author_id="7",
            author_name="alex",
            author_bot=False,
            content=f"v1 of {mid}",
            created_at=T0,
        )
    archive = ArchiveRepository(db, "a")
    await archive.edit("m1", "v2", T0 + timedelta(seconds=1))
    await archive.edit("m1", "v3", T0 + timedelta(seconds=2))
    await archive.mark_deleted(["m2", "unknown"])
    first, second = await repo.archived(ticket)
    assert first.content == "v3" and first.edited and not first.deleted
    assert [(e["content"], e["at"]) for e in first.edits] == [
        ("v1 of m1", T0 + timedelta(seconds=1)),
        ("v2", T0 + timedelta(seconds=2)),
    ]
    assert second.deleted and second.content == "v1 of m2"
    assert await archive.get("unknown") is None
    assert await ArchiveRepository(db, "b").get("m1") is None
    await ArchiveRepository(db, "b").mark_deleted(["m1"])
    assert not (await archive.get("m1")).deleted


async def test_the_first_staff_message_names_the_first_responder(db):
    ticket = await open_ticket(db)
    activity = ActivityRepository(db, "a")
    ticket = await activity.message(ticket, T0, staff=False, author="7")
    assert ticket.first_responder is None
    later = T0 + timedelta(minutes=5)
    ticket = await activity.message(ticket, later, staff=True, author="42")
    assert (ticket.first_responder, ticket.first_response_at) == ("42", later)
    # Another staff member answering later, or the first answer redelivered, changes nothing.
    ticket = await activity.message(ticket, later + timedelta(minutes=1), staff=True, author="43")
    ticket = await activity.message(ticket, later, staff=True, author="42")
    assert (ticket.first_responder, ticket.first_response_at) == ("42", later)
