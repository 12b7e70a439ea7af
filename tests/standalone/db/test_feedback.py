import pytest

from standalone.db.feedback import FeedbackRepository


async def test_one_feedback_per_ticket_replaced_on_resubmit(db):
    repo = FeedbackRepository(db, "alpha")
    assert await repo.get("1", 1) is None
    await repo.save("1", 1, "42", 3, "enc-comment")
    again = await repo.save("1", 1, "42", 5, None)
    assert again.rating == 5 and again.comment is None
    assert (await repo.get("1", 1)).rating == 5
    assert await FeedbackRepository(db, "beta").get("1", 1) is None  # other tenant
    rows = await db.one("SELECT * FROM feedback;")
    assert len(rows) == 1


async def test_rating_out_of_range_is_refused(db):
    with pytest.raises(ValueError, match="rating"):
        await FeedbackRepository(db, "alpha").save("1", 1, "42", 6, None)
