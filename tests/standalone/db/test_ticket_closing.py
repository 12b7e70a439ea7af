from datetime import UTC, datetime, timedelta

from standalone.db.tickets import TicketRepository

AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def _open(repo, creator="7", interaction="i1"):
    cat = await repo.save_category("1", "Support", "9", [])
    ticket = await repo.create("1", cat.key, creator, interaction, None)
    return await repo.mark_open("1", ticket.number, f"c{interaction}", None)


async def test_close_request_is_kept_and_dropped_only_if_still_the_same(db):
    repo = TicketRepository(db, "a")
    ticket = await _open(repo)
    request = {"requested_by": "5", "expect": "creator", "at": AT, "reason": "enc"}
    ticket = await repo.set_close_request(ticket, request)
    assert ticket.close_request.requested_by == "5" and ticket.close_request.at == AT
    # A newer request replaced it: dropping the old one leaves the new one.
    assert await repo.drop_close_request(ticket, AT - timedelta(seconds=1)) is None
    assert (await repo.get("1", 1)).close_request is not None
    dropped = await repo.drop_close_request(ticket, AT)
    assert dropped is not None and dropped.close_request is None


async def test_closing_clears_the_request_and_fixes_the_close_time(db):
    repo = TicketRepository(db, "a")
    ticket = await _open(repo)
    ticket = await repo.set_close_request(
        ticket, {"requested_by": "5", "expect": "creator", "at": AT}
    )
    closing = await repo.mark_closing(ticket, "5", None)
    assert closing.state == "closing" and closing.close_request is None
    done = await repo.mark_closed(closing, "key")
    assert done.closed_at == closing.closed_at  # resumed closes keep the first time


async def test_active_tickets_and_reopen(db):
    repo = TicketRepository(db, "a")
    first = await _open(repo, "7", "i1")
    second = await _open(repo, "8", "i2")
    await repo.mark_closed(await repo.mark_closing(second, "8", None), None)
    assert [t.number for t in await repo.active()] == [1]
    assert [t.number for t in await repo.active_of("1", "7")] == [1]
    assert await repo.active_of("1", "8") == []
    assert await TicketRepository(db, "b").active() == []
    reopened = await repo.reopen(await repo.get("1", 2))
    assert reopened.state == "open" and reopened.reopened == 1 and reopened.closed_at is None
    assert await repo.reopen(reopened) is None  # not closed: nothing to do
    pins = await repo.set_pins(first, ["11", "12"])
    assert pins.pinned_message_ids == ["11", "12"]
