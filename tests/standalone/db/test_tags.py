"""The tag repository and its pattern matching, which gives up on runaway patterns."""

from __future__ import annotations

import pytest

from standalone.db import open_database
from standalone.db.tags import (
    MATCH_TIMEOUT_S,
    Tag,
    TagError,
    TagRepository,
    compile_pattern,
    matches,
)


@pytest.fixture
async def repo():
    db = await open_database("mem://")
    yield TagRepository(db, "red")
    await db.close()


async def test_create_update_delete(repo: TagRepository):
    tag = await repo.create("1", "faq", "Read the FAQ", "faq|questions?")
    assert await repo.get("1", tag.key) == tag
    assert await repo.get("2", tag.key) is None  # another guild's key
    with pytest.raises(TagError, match=r"^name: "):
        await repo.create("1", "FAQ", "dup", None)
    updated = await repo.update("1", tag.key, regex=None)
    assert updated is not None and updated.regex is None
    assert await repo.update("1", "nope", content="x") is None
    assert await repo.delete("1", tag.key) and not await repo.delete("1", tag.key)


async def test_other_tenants_do_not_see_the_tags(repo: TagRepository):
    await repo.create("1", "faq", "Read the FAQ", None)
    blue = TagRepository(repo._db, "blue")  # same database, another tenant
    assert await blue.list("1") == []


def test_matching_is_case_insensitive_and_bounded():
    tag = Tag(key="k", guild_id="1", name="n", content="c", regex=r"^refund")
    assert matches(tag, "hello\nRefund please")  # multiline, any case
    assert not matches(tag, "no")
    pattern = r"(.*){1,32000}[bc]"
    # Catastrophic backtracking: left alone it runs for ages; the timeout stops it...
    with pytest.raises(TimeoutError):
        compile_pattern(pattern).search("a" * 40, timeout=MATCH_TIMEOUT_S)
    # ...and a tag with it simply does not match.
    runaway = Tag(key="k", guild_id="1", name="n", content="c", regex=pattern)
    assert not matches(runaway, "a" * 40)
