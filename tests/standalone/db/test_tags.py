"""The tag repository and its pattern matching, which gives up on runaway patterns."""

from __future__ import annotations

import pytest

from standalone.db import open_database
from standalone.db.tags import (
    MATCH_TIMEOUT_S,
    Tag,
    TagError,
    TagRepository,
    check_pattern,
    compile_pattern,
    first_match,
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


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(a+)+$", "pattern_nested"),  # the classic: exponential on "aaaa…b" elsewhere
        (r"(.*?,){30}X", "pattern_nested"),
        (r"^(\w+\s?)*$", "pattern_nested"),
        ("((a{1,3}){1,5}){1,9}$", "pattern_slow"),  # small counts, still slow: the probes
        ("(", "pattern_invalid"),
        ("a" * 201, "pattern_long"),
    ],
)
async def test_saving_refuses_patterns_that_are_slow_or_broken(
    repo: TagRepository, pattern: str, problem: str
):
    with pytest.raises(TagError) as refused:
        await repo.create("1", "t", "c", pattern)
    assert refused.value.problem == problem and str(refused.value).startswith("regex: ")
    assert await repo.list("1") == []
    tag = await repo.create("1", "t", "c", "fine")
    with pytest.raises(TagError):
        await repo.update("1", tag.key, regex=pattern)
    assert (await repo.get("1", tag.key)).regex == "fine"


@pytest.mark.parametrize(
    "pattern", [r"\brefund\b", "how (do|can) i", "a{2}(b{2}){3}", "(?:a|aa)*c"]
)
def test_ordinary_patterns_pass_the_save_checks(pattern: str):
    check_pattern(pattern)  # raises TagError when refused


def test_first_match_takes_the_longest_pattern_and_skips_runaways():
    def tag(name: str, pattern: str | None) -> Tag:
        return Tag(key=name, guild_id="1", name=name, content=name, regex=pattern)

    tags = [tag("short", "refund"), tag("long", r"refund|money back"), tag("none", None)]
    assert first_match(tags, "a REFUND?") == tags[1]
    assert first_match(tags, "hello") is None
    runaway = tag("runaway", r"(.*){1,32000}[bc]")
    # The runaway (tried first: longest) times out and counts as no match.
    assert first_match([runaway, tags[0]], "refund " + "a" * 40) == tags[0]
    # However many runaways, one message's matching stops at the budget.
    assert first_match([runaway] * 50, "a" * 40, timeout_s=0.01) is None
