from datetime import UTC, datetime, timedelta

from standalone.db.timers import TimerRepository

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


async def test_due_timers_are_claimed_once_until_their_hold_expires(db):
    timers = TimerRepository(db, "a")
    await timers.schedule("1", 1, "auto_close", NOW - timedelta(seconds=1))
    await timers.schedule("1", 2, "stale", NOW + timedelta(minutes=5))
    taken = await timers.take_due(NOW, hold_ms=10_000)
    assert [(t.number, t.kind) for t in taken] == [(1, "auto_close")]
    assert await timers.take_due(NOW + timedelta(seconds=5), hold_ms=10_000) == []
    # The holder died: after the hold the timer is handed out again.
    again = await timers.take_due(NOW + timedelta(seconds=11), hold_ms=10_000)
    assert [(t.number, t.kind) for t in again] == [(1, "auto_close")]
    await timers.done(again[0])
    assert [(t.number, t.kind) for t in await timers.all()] == [(2, "stale")]


async def test_rescheduling_moves_and_cancel_removes(db):
    timers = TimerRepository(db, "a")
    first = await timers.schedule("1", 1, "stale", NOW)
    taken = await timers.take_due(NOW, hold_ms=1000)
    await timers.schedule("1", 1, "stale", NOW + timedelta(hours=1))
    # A job that finished after its timer was moved must not delete the new one.
    await timers.done(taken[0])
    assert (await timers.get("1", 1, "stale")).due_at == first.due_at + timedelta(hours=1)
    await timers.schedule("1", 1, "auto_close", NOW)
    assert await timers.cancel("1", 1, "stale") == 1
    assert [t.kind for t in await timers.all()] == ["auto_close"]
    assert await timers.cancel("1", 1) == 1
    assert await timers.all() == []


async def test_tenants_do_not_share_timers(db):
    await TimerRepository(db, "a").schedule("1", 1, "stale", NOW)
    assert await TimerRepository(db, "b").take_due(NOW, hold_ms=1000) == []
    assert await TimerRepository(db, "b").cancel("1", 1) == 0
