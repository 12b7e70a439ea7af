"""Statistics are added up by the database, per guild, category and staff member."""

from datetime import UTC, datetime, timedelta

import pytest

from standalone.db.feedback import FeedbackRepository
from standalone.db.stats import Stats, StatsRepository
from standalone.db.tickets import TicketRepository

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


async def ticket(db, tenant, category, number, *, created, response=None, closed=None, **more):
    """A ticket row with known moments (seconds after ``created``)."""
    repo = TicketRepository(db, tenant)
    made = await repo.create("1", category, "7", f"i{number}-{tenant}", None)
    assert made.number == number
    fields = {
        "created_at": created,
        "state": "closed" if closed is not None else "open",
        **more,
    }
    if response is not None:
        fields["first_response_at"] = created + timedelta(seconds=response)
    if closed is not None:
        fields["closed_at"] = created + timedelta(seconds=closed)
    await repo.update_fields(made, **fields)


@pytest.fixture
async def seeded(db):
    repo = TicketRepository(db, "a")
    support = await repo.save_category("1", "Support", "9", ["5"])
    billing = await repo.save_category("1", "Billing", "9", ["5"])
    await ticket(
        db,
        "a",
        support.key,
        1,
        created=NOW - 2 * DAY,
        response=600,
        closed=7200,
        claimed_by="s1",
        first_responder="s2",
    )
    await ticket(db, "a", support.key, 2, created=NOW - DAY, response=1800, first_responder="s2")
    await ticket(db, "a", billing.key, 3, created=NOW - 3 * DAY, closed=3600)
    await ticket(db, "a", support.key, 4, created=NOW - 40 * DAY, response=5, closed=10)
    # Another tenant's rows in the same guild id never count.
    other = await TicketRepository(db, "b").save_category("1", "Support", "9", ["5"])
    await ticket(db, "b", other.key, 1, created=NOW - DAY, response=1, closed=2)
    feedback = FeedbackRepository(db, "a")
    await feedback.save("1", 1, "7", 5, None)
    await feedback.save("1", 3, "7", 2, None)
    return support.key, billing.key


async def test_guild_category_and_member_figures(db, seeded):
    support, billing = seeded
    repo = StatsRepository(db, "a")
    # Ratings are stamped with the real time: a window up to tomorrow's real time holds them.
    until = max(NOW, datetime.now(UTC)) + DAY
    since = NOW - 30 * DAY
    whole = await repo.summary("1", since, until)
    assert whole == Stats(
        opened=3,
        closed=2,
        responded=2,
        response_s=1200.0,
        resolution_s=5400.0,
        rated=2,
        rating=3.5,
    )
    assert (await repo.summary("1", since, until, category=billing)) == Stats(
        opened=1, closed=1, resolution_s=3600.0, rated=1, rating=2.0
    )
    # s1 claimed ticket 1; s2 answered it first but only counts for the unclaimed ticket 2.
    assert (await repo.summary("1", since, until, member="s1")) == Stats(
        opened=1, closed=1, responded=1, response_s=600.0, resolution_s=7200.0, rated=1, rating=5.0
    )
    assert (await repo.summary("1", since, until, category=support, member="s2")) == Stats(
        opened=1, responded=1, response_s=1800.0
    )
    assert await repo.summary("2", since, until) == Stats()
    assert (await repo.summary("1", NOW - 60 * DAY, until)).opened == 4
