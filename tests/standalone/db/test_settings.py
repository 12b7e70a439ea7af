import pytest

from standalone.db.settings import MAX_QUESTIONS, SettingsError, SettingsRepository


async def test_a_new_guild_has_defaults_and_changes_persist(db):
    repo = SettingsRepository(db, "a")
    fresh = await repo.guild("1")
    assert fresh.archive is True and fresh.stale_after_ms is None
    changed = await repo.update_guild("1", stale_after_ms=60_000, log_channel="55")
    assert (changed.stale_after_ms, changed.log_channel) == (60_000, "55")
    again = await repo.guild("1")
    assert again == changed
    assert (await SettingsRepository(db, "b").guild("1")).stale_after_ms is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stale_after_ms": "soon"}, "stale_after_ms"),
        ({"nope": 1}, "nope"),
        ({"guild_id": "2"}, "guild_id"),
    ],
)
async def test_bad_guild_settings_name_their_field(db, changes, field):
    repo = SettingsRepository(db, "a")
    with pytest.raises(SettingsError, match=field):
        await repo.update_guild("1", **changes)
    assert (await repo.guild("1")).stale_after_ms is None


async def test_categories_are_per_guild_and_tenant_with_every_field(db):
    repo = SettingsRepository(db, "a")
    made = await repo.create_category(
        "1", "Billing", staff_roles=["9"], mode="thread", thread_channel="77", cooldown_ms=5000
    )
    assert made.mode == "thread" and made.cooldown_ms == 5000 and made.total_limit == 50
    second = await repo.create_category("1", "Bugs")
    assert [c.name for c in await repo.categories("1")] == ["Billing", "Bugs"]
    assert second.position == 1
    assert await repo.category("2", made.key) is None
    assert await SettingsRepository(db, "b").category("1", made.key) is None
    updated = await repo.update_category("1", made.key, slowmode_s=30, archive=False)
    assert (updated.slowmode_s, updated.archive, updated.mode) == (30, False, "thread")
    with pytest.raises(SettingsError, match="exists already"):
        await repo.create_category("1", "billing")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mode": "forum"}, "mode"),
        ({"slowmode_s": 99999}, "slowmode_s"),
        ({"member_limit": 0}, "member_limit"),
        ({"cooldown_ms": -1}, "cooldown_ms"),
        ({"total_limit": "x"}, "total_limit"),
        ({"key": "other"}, "key"),
    ],
)
async def test_bad_category_fields_are_refused_and_nothing_changes(db, changes, field):
    repo = SettingsRepository(db, "a")
    made = await repo.create_category("1", "Billing")
    with pytest.raises(SettingsError, match=field):
        await repo.update_category("1", made.key, **changes)
    assert await repo.category("1", made.key) == made


async def test_questions_keep_order_limit_and_validation(db):
    repo = SettingsRepository(db, "a")
    cat = await repo.create_category("1", "Billing")
    first = await repo.save_question(cat.key, "Order number", min_length=3, max_length=20)
    menu = await repo.save_question(cat.key, "Product", kind="select", options=["A", "B"])
    assert [q.key for q in await repo.questions(cat.key)] == [first.key, menu.key]
    renamed = await repo.save_question(cat.key, "Order no.", key=first.key)
    assert renamed.position == 0 and renamed.min_length == 3
    for n in range(MAX_QUESTIONS - 2):
        await repo.save_question(cat.key, f"Q{n}")
    with pytest.raises(SettingsError, match="at most"):
        await repo.save_question(cat.key, "One too many")
    with pytest.raises(SettingsError, match="options"):
        await repo.save_question(cat.key, "Menu", key=menu.key, options=[])
    assert await repo.remove_question(cat.key, first.key)
    assert not await repo.remove_question(cat.key, first.key)
    await repo.delete_category("1", cat.key)
    assert await repo.questions(cat.key) == []


async def test_a_guild_setting_turned_off_stays_off(db):
    repo = SettingsRepository(db, "a")
    assert (await repo.guild("1")).auto_close_ms == 12 * 3600 * 1000
    off = await repo.update_guild("1", auto_close_ms=None, stale_after_ms=60_000)
    assert off.auto_close_ms is None
    # Another change keeps it off, and it can be turned back on.
    assert (await repo.update_guild("1", locale="de")).auto_close_ms is None
    assert (await repo.guild("1")).auto_close_ms is None
    back = await repo.update_guild("1", auto_close_ms=3_600_000, stale_after_ms=None)
    assert (back.auto_close_ms, back.stale_after_ms) == (3_600_000, None)
    assert await repo.guild("1") == back
    # A guild never configured can be created with it off.
    assert (await repo.update_guild("2", auto_close_ms=None)).auto_close_ms is None
    assert (await repo.guild("2")).auto_close_ms is None
    # The row survives a round trip through Python (as backups and imports make it).
    row = await db.one("SELECT * FROM ONLY type::thing('guild', ['a', '2']);")
    await db.run("DELETE $id; CREATE $id CONTENT $row;", {"id": row.pop("id"), "row": row})
    assert (await repo.guild("2")).auto_close_ms is None


async def test_a_category_override_can_be_cleared_back_to_the_guilds(db):
    repo = SettingsRepository(db, "a")
    made = await repo.create_category(
        "1", "Billing", auto_close_ms=5000, archive=False, emoji="🎫", cooldown_ms=1000
    )
    cleared = await repo.update_category(
        "1", made.key, auto_close_ms=None, archive=None, emoji=None, cooldown_ms=None
    )
    assert (cleared.auto_close_ms, cleared.archive, cleared.emoji, cleared.cooldown_ms) == (
        None,
        None,
        None,
        None,
    )
    assert await repo.category("1", made.key) == cleared
    # 0 ("off", not "the guild's") is kept as such.
    zero = await repo.update_category("1", made.key, auto_close_ms=0)
    assert (await repo.category("1", made.key)) == zero and zero.auto_close_ms == 0
