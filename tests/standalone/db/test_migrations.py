from standalone.db import open_database
from standalone.db.migrations import LATEST, migrate, schema_version


async def test_new_database_reaches_latest_and_migrating_again_changes_nothing():
    db = await open_database("mem://")
    try:
        assert await schema_version(db) == LATEST
        tables = (await db.one("INFO FOR DB"))["tables"]
        assert {"tenant", "guild", "category", "ticket", "archived_message", "feedback"} <= set(
            tables
        )
        assert await migrate(db) == LATEST
    finally:
        await db.close()


async def test_surrealkv_file_keeps_data_across_reopen(tmp_path):
    url = f"surrealkv://{tmp_path / 'db'}"
    db = await open_database(url)
    await db.one("CREATE guild:x CONTENT {tenant: 'a', guild_id: '1'};")
    await db.close()
    db = await open_database(url)
    try:
        rows = await db.one("SELECT * FROM guild;")
        assert [row["guild_id"] for row in rows] == ["1"]
        assert await schema_version(db) == LATEST
    finally:
        await db.close()
